// The shapes shared by the ONNX exporter, the int8 quantizer and the reference forward pass:
// an MLP as plain typed arrays, independent of the framework that trained it.

export const MLP_ACTIVATIONS = ['relu', 'sigmoid', 'linear', 'softmax'] as const;
export type MlpActivation = (typeof MLP_ACTIVATIONS)[number];

/** One dense layer, laid out as a TensorFlow.js Dense layer stores it. */
export interface MlpLayer {
  /** Kernel, row-major `[inputs, units]` (what `layer.getWeights()[0].dataSync()` returns). */
  weights: Float32Array;
  /** `[units]`. */
  bias: Float32Array;
  inputs: number;
  units: number;
  activation: MlpActivation;
}

/** Which head the last layer is: 1 sigmoid unit, K ≥ 2 softmax units, or 1 linear unit. */
export const MLP_HEADS = ['binary', 'multiclass', 'regression'] as const;
export type MlpHead = (typeof MLP_HEADS)[number];

/** A binary classifier (the last layer has 1 unit and a sigmoid) unless `head` says otherwise.
 * Logistic regression is the case with a single layer. */
export interface MlpWeights {
  inputDim: number;
  layers: MlpLayer[];
  /** @default 'binary' */
  head?: MlpHead;
}

/** Written to the model's `metadata_props`; serving checks `featureSpecHash` before scoring. */
export interface OnnxModelMetadata {
  featureSpecHash: string;
  datasetVersion: string;
  modelName?: string;
  version?: string;
  [key: string]: string | undefined;
}

/** Graph input and output names: every exported model uses these; the output is named by the
 * head (`probability` for a binary classifier, as before heads existed). */
export const ONNX_INPUT_NAME = 'features';
export const ONNX_OUTPUT_NAME = 'probability';
export const ONNX_OUTPUT_NAMES: Record<MlpHead, string> = {
  binary: ONNX_OUTPUT_NAME,
  multiclass: 'probabilities',
  regression: 'value',
};

/** The graph output name of `mlp`'s head. */
export function onnxOutputName(mlp: Pick<MlpWeights, 'head'>): string {
  return ONNX_OUTPUT_NAMES[mlp.head ?? 'binary'];
}
