// One ONNX Runtime session over an exported MLP, shaped like onnxruntime's own node backend:
// private constructor, `static async create()`, `dispose()`. Threads are explicit and spinning
// is off: on a shared 2-core machine ORT's default busy-waiting threads starve everything else.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { InvalidModelError } from './errors.ts';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, ONNX_OUTPUT_NAMES } from './types.ts';
import { checkRows } from './validate.ts';
import type { OnnxProvider } from './providers.ts';

export interface OnnxSessionOptions {
  /** Threads one operator may use. @default 1 */
  intraOpNumThreads?: number;
  /** Threads for running independent operators in parallel. @default 1 */
  interOpNumThreads?: number;
  /** Whether idle ORT threads busy-wait for work (`session.*.allow_spinning`). @default false */
  allowSpinning?: boolean;
  /** @default 'all' */
  graphOptimizationLevel?: InferenceSession.SessionOptions['graphOptimizationLevel'];
  /** Writes the model as ORT optimized it, to see which kernels it fused. @default undefined */
  optimizedModelFilePath?: string;
  /** Execution providers in priority order: the ones FLYWHEEL_ONNX_PROVIDERS asked for that
   * loaded at start-up (selectOnnxProviders). @default ['cpu'] */
  executionProviders?: readonly OnnxProvider[];
}

export class OnnxSession {
  private constructor(
    private readonly session: InferenceSession,
    /** Features per row, from the model's input shape. */
    readonly inputDim: number,
    /** Output values per row. */
    readonly outputDim: number,
    /** `probability`, `probabilities` or `value`: the head the model was exported with. */
    readonly outputName: string = ONNX_OUTPUT_NAME,
  ) {}

  /** Loads a model from bytes or a file path. */
  static async create(model: Uint8Array | string, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const spinning = options.allowSpinning ? '1' : '0';
    const sessionOptions: InferenceSession.SessionOptions = {
      executionProviders: [...(options.executionProviders ?? ['cpu'])],
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: options.interOpNumThreads ?? 1,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      extra: {
        session: { intra_op: { allow_spinning: spinning }, inter_op: { allow_spinning: spinning } },
      },
      ...(options.optimizedModelFilePath ? { optimizedModelFilePath: options.optimizedModelFilePath } : {}),
    };
    const session =
      typeof model === 'string'
        ? await InferenceSession.create(model, sessionOptions)
        : await InferenceSession.create(model, sessionOptions);
    try {
      const outputName = headOutput(session.outputMetadata);
      return new OnnxSession(
        session,
        widthOf(session.inputMetadata, ONNX_INPUT_NAME),
        widthOf(session.outputMetadata, outputName),
        outputName,
      );
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Scores `rows` rows (row-major `rows × inputDim`); returns `rows × outputDim` values. */
  async run(x: Float32Array, rows: number): Promise<Float32Array> {
    checkRows(x, rows, this.inputDim);
    const feeds = { [ONNX_INPUT_NAME]: new Tensor('float32', x, [rows, this.inputDim]) };
    // Only the head: a graph may have other outputs (a classifier's label), which need not be computed.
    const result = await this.session.run(feeds, [this.outputName]);
    const output = result[this.outputName];
    if (!output || !(output.data instanceof Float32Array)) {
      throw new InvalidModelError(`model returned no float32 ${this.outputName} output`);
    }
    return output.data;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** The output of a known head, `probability` first (what every model had before heads). */
function headOutput(metadata: readonly InferenceSession.ValueMetadata[]): string {
  const names = Object.values(ONNX_OUTPUT_NAMES);
  return names.find((name) => metadata.some((m) => m.name === name)) ?? ONNX_OUTPUT_NAME;
}

function widthOf(metadata: readonly InferenceSession.ValueMetadata[], name: string): number {
  const value = metadata.find((m) => m.name === name);
  const width = value?.isTensor ? value.shape[1] : undefined;
  if (value?.isTensor && value.type === 'float32' && value.shape.length === 2 && typeof width === 'number') return width;
  throw new InvalidModelError(`model needs a float32 [N, d] tensor named ${name}`);
}
