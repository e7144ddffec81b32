// int8 static QDQ export in the layout ORT's static quantizer produces, so ORT's CPU graph
// optimizer fuses it into integer kernels: int8 kernels (symmetric, one scale per output unit)
// behind a per-axis DequantizeLinear, and every layer input (the features and each hidden
// output) behind a QuantizeLinear→DequantizeLinear pair whose uint8 scale and zero point come
// from the min/max the float model reaches on calibration rows. Biases and the sigmoid output
// stay float32 (quantizing the output would round probabilities to steps of 1/255 and tie ranks).
//
// The bias is added with a two-input Sum, not Add, on purpose: ORT's level-1 MatMulAddFusion
// rewrites MatMul+Add into a float Gemm before its QDQ pass runs, and onnxruntime-node 1.30 does
// not turn DQ→Gemm→Q into QGemm (measured), so the layer would run as dequantize + float Gemm,
// slower than fp32. With Sum, DQ→MatMul becomes MatMulIntegerToFloat (u8×s8) and the
// Relu→QuantizeLinear pair folds into the quantize. Sum of two tensors is the same arithmetic.
//
// On x86 CPUs without VNNI, ORT's u8×s8 kernels can saturate 16-bit intermediate sums; ORT's
// docs suggest a reduced weight range there if accuracy drops. The tests measure the drift.
import type { onnx as Onnx } from 'onnx-proto';
import { InvalidModelError } from './errors.ts';
import { activationNode, nameOutput } from './export.ts';
import { forwardMlp, type ActivationRange } from './forward.ts';
import { batchValueInfo, encodeModel, floatTensor, int8Tensor, intAttribute, node, uint8Tensor } from './proto.ts';
import { ONNX_INPUT_NAME, onnxOutputName, type MlpLayer, type MlpWeights, type OnnxModelMetadata } from './types.ts';
import { validateMlp } from './validate.ts';

/** `metadata_props.quantization` of models from `quantizeMlpInt8`. */
export const INT8_QUANTIZATION = 'int8-qdq';

export interface Uint8QuantParams {
  scale: number;
  zeroPoint: number;
}

/** Asymmetric uint8 parameters for an observed range, widened to include 0 as ORT does (so 0,
 * ReLU's floor and the off state of a one-hot feature, is exact). */
export function uint8Params({ min, max }: ActivationRange): Uint8QuantParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Like `uint8Params`, but when the range holds 1 the scale becomes 1/k for a whole k, so 0 and 1,
 * the two values of every one-hot and binary feature, sit on the grid (1 otherwise comes back up
 * to half a step off, on every row); the price is at most one step of resolution for the
 * continuous features that share the tensor.
 */
export function uint8ParamsExactOne(range: ActivationRange): Uint8QuantParams {
  const base = uint8Params(range);
  const k = Math.floor(1 / base.scale);
  if (Math.max(range.max, 0) < 1 || k < 1) return base;
  // 255 / k ≥ the range's width, so with the zero point rounded the range is still covered to
  // within half a step at either end.
  return { scale: Math.fround(1 / k), zeroPoint: Math.min(255, Math.round(-Math.min(range.min, 0) * k)) };
}

/** Symmetric int8 in [-127, 127] per output unit: column j of the `[inputs, units]` kernel gets
 * `scale[j]`. */
export function quantizeKernel(layer: MlpLayer): { q: Int8Array; scale: Float32Array } {
  const { inputs, units, weights } = layer;
  const scale = new Float32Array(units);
  for (let j = 0; j < units; j++) {
    let absMax = 0;
    for (let k = 0; k < inputs; k++) absMax = Math.max(absMax, Math.abs(weights[k * units + j]!));
    scale[j] = absMax > 0 ? absMax / 127 : 1;
  }
  const q = new Int8Array(inputs * units);
  for (let k = 0; k < inputs; k++) {
    for (let j = 0; j < units; j++) {
      q[k * units + j] = Math.max(-127, Math.min(127, Math.round(weights[k * units + j]! / scale[j]!)));
    }
  }
  return { q, scale };
}

interface GraphParts {
  nodes: Onnx.INodeProto[];
  initializers: Onnx.ITensorProto[];
}

/** Appends QuantizeLinear→DequantizeLinear on `input`; returns the dequantized tensor's name. */
function addQdq(graph: GraphParts, prefix: string, input: string, params: Uint8QuantParams): string {
  graph.initializers.push(
    floatTensor(`${prefix}.scale`, [], Float32Array.of(params.scale)),
    uint8Tensor(`${prefix}.zero_point`, [], Uint8Array.of(params.zeroPoint)),
  );
  const qargs = [`${prefix}.scale`, `${prefix}.zero_point`];
  graph.nodes.push(
    node('QuantizeLinear', [input, ...qargs], [`${prefix}.q`]),
    node('DequantizeLinear', [`${prefix}.q`, ...qargs], [`${prefix}.dq`]),
  );
  return `${prefix}.dq`;
}

/** Appends the int8 kernel and its per-axis DequantizeLinear; returns the dequantized name. */
function addKernel(graph: GraphParts, i: number, layer: MlpLayer): string {
  const { q, scale } = quantizeKernel(layer);
  graph.initializers.push(
    int8Tensor(`dense${i}.kernel_q`, [layer.inputs, layer.units], q),
    floatTensor(`dense${i}.kernel_scale`, [layer.units], scale),
  );
  // No zero point: symmetric, and DequantizeLinear's default zero point is 0 of the input type.
  graph.nodes.push(
    node('DequantizeLinear', [`dense${i}.kernel_q`, `dense${i}.kernel_scale`], [`dense${i}.kernel`], [intAttribute('axis', 1)]),
  );
  return `dense${i}.kernel`;
}

/**
 * Static int8 QDQ model of `mlp`. `calibration` holds representative rows, row-major
 * `rows × inputDim`; the float model runs over them to fix each activation's range. Min/max
 * clips whatever calibration never reached, so pass thousands of training rows (on a synthetic
 * flights MLP the worst of 20,000 rows was 0.021 off fp32 after 2,000 calibration rows, 0.007
 * after 10,000).
 * `metadata` gains `quantization: 'int8-qdq'`.
 */
export function quantizeMlpInt8(mlp: MlpWeights, calibration: Float32Array, metadata: OnnxModelMetadata): Uint8Array {
  validateMlp(mlp);
  const rows = calibration.length / mlp.inputDim;
  if (!Number.isInteger(rows) || rows < 1) {
    throw new InvalidModelError(`calibration must hold whole rows of ${mlp.inputDim} values, got ${calibration.length} values`);
  }
  const ranges: ActivationRange[] = [];
  forwardMlp(mlp, calibration, rows, ranges);

  const graph: GraphParts = { nodes: [], initializers: [] };
  let current = ONNX_INPUT_NAME;
  mlp.layers.forEach((layer, i) => {
    // The model input holds one-hot blocks, so its 0s and 1s go on the grid; hidden outputs are
    // continuous and get ORT's plain min/max parameters.
    const x = addQdq(graph, `act${i}`, current, (i === 0 ? uint8ParamsExactOne : uint8Params)(ranges[i]!));
    const kernel = addKernel(graph, i, layer);
    graph.initializers.push(floatTensor(`dense${i}.bias`, [layer.units], layer.bias));
    graph.nodes.push(
      node('MatMul', [x, kernel], [`dense${i}.matmul`]),
      node('Sum', [`dense${i}.matmul`, `dense${i}.bias`], [`dense${i}.linear`]),
    );
    const last = i === mlp.layers.length - 1;
    current = activationNode(layer, `dense${i}.linear`, last ? onnxOutputName(mlp) : `dense${i}.out`, graph.nodes);
  });
  nameOutput(current, onnxOutputName(mlp), graph.nodes);
  const graphProto: Onnx.IGraphProto = {
    name: 'mlp_int8_qdq',
    node: graph.nodes,
    initializer: graph.initializers,
    input: [batchValueInfo(ONNX_INPUT_NAME, mlp.inputDim)],
    output: [batchValueInfo(onnxOutputName(mlp), mlp.layers[mlp.layers.length - 1]!.units)],
  };
  return encodeModel(graphProto, { ...metadata, quantization: INT8_QUANTIZATION });
}
