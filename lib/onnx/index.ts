// Exporting trained MLPs to ONNX (fp32 and int8 static QDQ) and running them in ONNX Runtime.
export { exportMlpToOnnx } from './export.ts';
export { InvalidModelError } from './errors.ts';
export { appendOnnxMetadata, checkModelSignature, type ModelSignature } from './imported.ts';
export { forwardMlp, type ActivationRange } from './forward.ts';
export { readOnnxMetadata } from './proto.ts';
export { INT8_QUANTIZATION, quantizeMlpInt8 } from './quantize.ts';
export { OnnxSession, type OnnxSessionOptions } from './session.ts';
export { DEFAULT_ONNX_PROVIDERS, ONNX_PROVIDERS, ONNX_PROVIDERS_VAR, parseOnnxProviders, type OnnxProvider } from './providers.ts';
export { chooseOnnxProviders, OnnxProviderError, selectOnnxProviders, type ProviderChoice, type ProviderProbe } from './provider-select.ts';
export {
  MLP_ACTIVATIONS,
  MLP_HEADS,
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  ONNX_OUTPUT_NAMES,
  onnxOutputName,
  type MlpActivation,
  type MlpHead,
  type MlpLayer,
  type MlpWeights,
  type OnnxModelMetadata,
} from './types.ts';
