// fp32 export: one Gemm per dense layer (the kernel is already [inputs, units], so no
// transpose), then Relu/Sigmoid/Softmax (or nothing for a linear head); weights are initializers.
// The output is named by the head: `probability`, `probabilities` or `value`.
import type { onnx as Onnx } from 'onnx-proto';
import { batchValueInfo, encodeModel, floatTensor, intAttribute, node } from './proto.ts';
import { ONNX_INPUT_NAME, onnxOutputName, type MlpLayer, type MlpWeights, type OnnxModelMetadata } from './types.ts';
import { validateMlp } from './validate.ts';

/** A linear head leaves the last Gemm's output unnamed as the graph output: an Identity names it. */
export function nameOutput(current: string, outputName: string, nodes: Onnx.INodeProto[]): void {
  if (current !== outputName) nodes.push(node('Identity', [current], [outputName]));
}

/** Appends the activation node (if any) and returns the name of the layer's output. */
export function activationNode(layer: MlpLayer, input: string, output: string, nodes: Onnx.INodeProto[]): string {
  if (layer.activation === 'linear') return input;
  if (layer.activation === 'softmax') {
    nodes.push(node('Softmax', [input], [output], [intAttribute('axis', 1)]));
    return output;
  }
  nodes.push(node(layer.activation === 'relu' ? 'Relu' : 'Sigmoid', [input], [output]));
  return output;
}

export function exportMlpToOnnx(mlp: MlpWeights, metadata: OnnxModelMetadata): Uint8Array {
  validateMlp(mlp);
  const nodes: Onnx.INodeProto[] = [];
  const initializers: Onnx.ITensorProto[] = [];
  let current = ONNX_INPUT_NAME;
  const outputName = onnxOutputName(mlp);
  mlp.layers.forEach((layer, i) => {
    const last = i === mlp.layers.length - 1;
    initializers.push(floatTensor(`dense${i}.kernel`, [layer.inputs, layer.units], layer.weights));
    initializers.push(floatTensor(`dense${i}.bias`, [layer.units], layer.bias));
    nodes.push(node('Gemm', [current, `dense${i}.kernel`, `dense${i}.bias`], [`dense${i}.linear`]));
    current = activationNode(layer, `dense${i}.linear`, last ? outputName : `dense${i}.out`, nodes);
  });
  nameOutput(current, outputName, nodes);
  const graph: Onnx.IGraphProto = {
    name: 'mlp',
    node: nodes,
    initializer: initializers,
    input: [batchValueInfo(ONNX_INPUT_NAME, mlp.inputDim)],
    output: [batchValueInfo(outputName, mlp.layers[mlp.layers.length - 1]!.units)],
  };
  return encodeModel(graph, metadata);
}
