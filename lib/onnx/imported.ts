// Models Flywheel did not export itself (a command trainer's, or one trained elsewhere and
// imported): checked against what serving will feed them and read from them before they are
// registered, and stamped with the metadata serving checks — without re-encoding the file, whose
// newer fields an older ONNX schema would drop.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { InvalidModelError } from './errors.ts';
import { metadataProps } from './proto.ts';
import { ONNX_INPUT_NAME, type OnnxModelMetadata } from './types.ts';

export interface ModelSignature {
  /** Width of the fitted feature encoding: the `features` input's second dimension. */
  inputDim: number;
  /** The task's output name (`probability`, `probabilities`, `value`)… */
  output: string;
  /** …and its width (1, or K classes). */
  units: number;
  /** What the output holds, checked on a few rows: probabilities in [0, 1] (and summing to 1 over
   * K classes), or any finite value. */
  kind: 'probability' | 'probabilities' | 'value';
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === 'number' && d >= 0 ? String(d) : typeof d === 'string' ? d : '?')).join(', ')}]`;
}

/** What is wrong with `value`'s declared shape as a float32 `[N, width]`, or null. */
function shapeProblem(meta: InferenceSession.ValueMetadata, width: number): string | null {
  if (!meta.isTensor) return 'is not a tensor';
  if (meta.type !== 'float32') return `is ${meta.type}, not float32`;
  if (meta.shape.length !== 2) return `has shape ${describeShape(meta.shape)}, not [N, ${width}]`;
  const d = meta.shape[1];
  if (typeof d === 'number' && d >= 0 && d !== width) return `has shape ${describeShape(meta.shape)}, not [N, ${width}]`;
  return null;
}

/**
 * Loads `bytes` in ONNX Runtime and checks them against the signature the fitted features and the
 * task ask for, then scores a few rows to prove the graph runs and its outputs are what the task
 * says. Throws InvalidModelError (permanent) naming what differs and what was expected.
 */
export async function checkModelSignature(bytes: Uint8Array, expect: ModelSignature): Promise<void> {
  let session: InferenceSession;
  try {
    // Always the CPU: a check on three rows, run where the model is registered (a CPU worker);
    // FLYWHEEL_ONNX_PROVIDERS applies where models are served and batch-scored.
    session = await InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw new InvalidModelError(`ONNX Runtime cannot load the model: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const want = `a float32 input "${ONNX_INPUT_NAME}" [N, ${expect.inputDim}] (the fitted features' width) and a float32 output "${expect.output}" [N, ${expect.units}]`;
    if (session.inputNames.length !== 1 || session.inputNames[0] !== ONNX_INPUT_NAME)
      throw new InvalidModelError(`the model's inputs are ${JSON.stringify(session.inputNames)}; Flywheel feeds ${want}`);
    const input = session.inputMetadata.find((m) => m.name === ONNX_INPUT_NAME)!;
    const inputProblem = shapeProblem(input, expect.inputDim);
    if (inputProblem) throw new InvalidModelError(`input "${ONNX_INPUT_NAME}" ${inputProblem}; Flywheel feeds ${want}`);
    const output = session.outputMetadata.find((m) => m.name === expect.output);
    if (!output)
      throw new InvalidModelError(
        `the model has no output "${expect.output}" (it has ${JSON.stringify(session.outputNames)}); Flywheel reads ${want}`,
      );
    const outputProblem = shapeProblem(output, expect.units);
    if (outputProblem) throw new InvalidModelError(`output "${expect.output}" ${outputProblem}; Flywheel reads ${want}`);

    // Rows of zeros, ones and a ramp: enough to catch a graph that fails at run time, a width that
    // was left symbolic but is wrong, and logits where probabilities belong.
    const rows = 3;
    const x = new Float32Array(rows * expect.inputDim);
    for (let j = 0; j < expect.inputDim; j++) {
      x[expect.inputDim + j] = 1;
      x[2 * expect.inputDim + j] = (j % 7) / 7;
    }
    let y: Float32Array;
    try {
      const result = await session.run({ [ONNX_INPUT_NAME]: new Tensor('float32', x, [rows, expect.inputDim]) }, [expect.output]);
      y = result[expect.output]!.data as Float32Array;
    } catch (err) {
      throw new InvalidModelError(`the model failed on ${rows} test rows: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!(y instanceof Float32Array) || y.length !== rows * expect.units)
      throw new InvalidModelError(`output "${expect.output}" gave ${y.length} values for ${rows} rows, not ${rows * expect.units}`);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(y.subarray(r * expect.units, (r + 1) * expect.units));
      if (!row.every(Number.isFinite))
        throw new InvalidModelError(`output "${expect.output}" is not finite on a test row: ${row.join(', ')}`);
      if (expect.kind !== 'value' && !row.every((p) => p >= -1e-6 && p <= 1 + 1e-6))
        throw new InvalidModelError(
          `output "${expect.output}" must hold probabilities in [0, 1], got ${row.join(', ')} (logits? add a sigmoid or softmax)`,
        );
      const sum = row.reduce((a, b) => a + b, 0);
      if (expect.kind === 'probabilities' && Math.abs(sum - 1) > 1e-3)
        throw new InvalidModelError(`output "${expect.output}" must sum to 1 over the ${expect.units} classes, got ${sum.toFixed(4)}`);
    }
  } finally {
    await session.release();
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const head = [(field << 3) | 2, ...varint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** ModelProto field 14, `metadata_props` (repeated StringStringEntryProto{key = 1, value = 2}). */
const METADATA_PROPS_FIELD = 14;

/**
 * `bytes` with `metadata` added to its `metadata_props`. Protobuf concatenates repeated fields
 * across a message's bytes, so appending the entries is a valid edit that leaves every other byte
 * (and any field this project's schema does not know) as it was. A key the model already had is
 * written again; readers take the last one (readOnnxMetadata does).
 */
export function appendOnnxMetadata(bytes: Uint8Array, metadata: OnnxModelMetadata): Uint8Array {
  const text = new TextEncoder();
  const entries = metadataProps(metadata).map(({ key, value }) =>
    lengthDelimited(
      METADATA_PROPS_FIELD,
      concat([lengthDelimited(1, text.encode(key ?? '')), lengthDelimited(2, text.encode(value ?? ''))]),
    ),
  );
  return concat([bytes, ...entries]);
}
