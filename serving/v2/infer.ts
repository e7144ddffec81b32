// A V2 infer request as Flywheel instances, and Flywheel predictions as V2 output tensors. Each
// input tensor is one input column with a row per instance, so the rows go through the same
// checks, routing, cache and log as a /v1 predict; what is checked here is what only tensors can
// get wrong (shapes, sizes, datatypes, the binary part), each named by its input.
import type { ModelIO } from '../../lib/features/tabular/model-io.ts';
import type { InputKind } from '../../lib/features/tabular/spec.ts';
import { storableTextProblem } from '../../lib/text/storable.ts';
import { ServingError } from '../errors.ts';
import { INSTANCE_LIMITS } from '../http/schemas.ts';
import { describeInputs } from '../instances.ts';
import type { Instance, Prediction } from '../predictor.ts';
import { vectorLength, type OutputMetadata } from './metadata.ts';
import type { InferRequest, InferResponse } from './protocol.ts';
import { decodeBinaryData, decodeJsonData, encodeBinaryData, parseDatatype, type Tensor, type TensorValue } from './tensors.ts';

function bad(message: string): ServingError {
  return new ServingError('badRequest', message);
}

const label = (name: string) => `input ${JSON.stringify(name)}`;

/**
 * The request's input tensors decoded, each checked against the input column it names in `io`
 * (the champion's: what the model metadata told the client to send): a known column, one row per
 * instance (`[N]` or `[N, 1]`; `[N, k]` for a vector column of width k), the same N for every
 * input, at most `maxInstances`, and the binary part split exactly by `binary_data_size`.
 */
export function decodeInputs(request: InferRequest, binary: Buffer, io: ModelIO, model: string, maxInstances: number): Tensor[] {
  const kinds = new Map(io.inputs.map((i) => [i.column, i.kind]));
  const seen = new Set<string>();
  let rows: { n: number; input: string } | undefined;
  // Shapes and sizes first, for every input, so nothing is decoded from a body that cannot add up.
  const plans = request.inputs.map((input) => {
    const name = input.name;
    if (seen.has(name)) throw bad(`${label(name)}: sent twice`);
    seen.add(name);
    const kind = kinds.get(name);
    if (kind === undefined) throw bad(`${label(name)}: unknown input (${model} reads ${describeInputs(io)})`);
    const datatype = parseDatatype(label(name), input.datatype);
    const n = checkShape(name, kind, input.shape, maxInstances);
    if (rows && rows.n !== n) throw bad(`${label(name)}: has ${n} rows but ${label(rows.input)} has ${rows.n}`);
    rows ??= { n, input: name };
    const size = input.parameters?.binary_data_size;
    if (size !== undefined && input.data !== undefined) throw bad(`${label(name)}: has both data and binary_data_size`);
    if (size === undefined && input.data === undefined) throw bad(`${label(name)}: has neither data nor binary_data_size`);
    return { input, datatype, size };
  });
  const declared = plans.reduce((sum, p) => sum + (p.size ?? 0), 0);
  if (declared !== binary.byteLength)
    throw bad(
      `the binary part of the body is ${binary.byteLength} bytes but the inputs' binary_data_size add up to ${declared}` +
        (binary.byteLength > 0 && declared === 0 ? ' (is Inference-Header-Content-Length right?)' : ''),
    );
  let at = 0;
  return plans.map(({ input, datatype, size }) => {
    let values: TensorValue[];
    if (size !== undefined) {
      values = decodeBinaryData(label(input.name), datatype, input.shape, binary.subarray(at, at + size));
      at += size;
    } else values = decodeJsonData(label(input.name), datatype, input.shape, input.data!);
    return { name: input.name, datatype, shape: input.shape, values };
  });
}

/** The rows a tensor of `shape` holds for an input column of `kind`, or a 400 saying why not. */
function checkShape(name: string, kind: InputKind, shape: readonly number[], maxInstances: number): number {
  const width = vectorLength(kind);
  const expected = width === undefined ? '[N] or [N, 1]' : `[N, ${width}]`;
  const fits =
    width === undefined ? shape.length === 1 || (shape.length === 2 && shape[1] === 1) : shape.length === 2 && shape[1] === width;
  if (!fits) throw bad(`${label(name)}: shape [${shape.join(', ')}] is not ${expected} (one row per instance, ${kind})`);
  const n = shape[0]!;
  if (n < 1) throw bad(`${label(name)}: has no rows`);
  if (n > maxInstances) throw bad(`${label(name)}: has ${n} rows, at most ${maxInstances} are accepted per request`);
  return n;
}

/** One instance per row: each input's element (or, for a vector column, its row of elements). */
export function instancesOf(tensors: readonly Tensor[], io: ModelIO): Instance[] {
  const kinds = new Map(io.inputs.map((i) => [i.column, i.kind]));
  const n = tensors[0]?.shape[0] ?? 0;
  const instances = Array.from({ length: n }, () => ({}) as Record<string, unknown>);
  for (const t of tensors) {
    const width = vectorLength(kinds.get(t.name)!);
    for (let r = 0; r < n; r++) {
      instances[r]![t.name] =
        width === undefined
          ? fieldValue(t.name, t.values[r]!, r)
          : t.values.slice(r * width, (r + 1) * width).map((v, j) => fieldValue(t.name, v, r * width + j));
    }
  }
  return instances;
}

/** An element as a field value: NaN is the tensor world's missing value, and Flywheel's is null;
 * other values pass the same door checks as a /v1 instance's (finite, bounded, storable text). */
function fieldValue(name: string, value: TensorValue, index: number): unknown {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return null;
    if (!Number.isFinite(value)) throw bad(`${label(name)}: element ${index}: must be a finite number (NaN reads as missing)`);
    return value;
  }
  if (typeof value === 'string') {
    if (value.length > INSTANCE_LIMITS.maxString)
      throw bad(`${label(name)}: element ${index}: is longer than ${INSTANCE_LIMITS.maxString} characters`);
    const problem = storableTextProblem(value);
    if (problem) throw bad(`${label(name)}: element ${index}: ${problem}`);
  }
  return value;
}

/** The names of the requested outputs, each one `available`, or a 400 naming the one that is not. */
export function checkRequestedOutputs(request: InferRequest, available: readonly OutputMetadata[], model: string): void {
  const names = new Set(available.map((o) => o.name));
  const seen = new Set<string>();
  for (const o of request.outputs ?? []) {
    if (!names.has(o.name)) throw bad(`output ${JSON.stringify(o.name)}: unknown output (${model} answers with ${[...names].join(', ')})`);
    if (seen.has(o.name)) throw bad(`output ${JSON.stringify(o.name)}: requested twice`);
    seen.add(o.name);
  }
}

interface OutputTensor {
  name: string;
  datatype: 'FP32' | 'BYTES';
  shape: number[];
  values: Array<number | string>;
}

/** The predictions of one request (one version answered them all) as the task's output tensors. */
export function outputsOf(predictions: readonly Prediction[]): OutputTensor[] {
  const n = predictions.length;
  const first = predictions[0];
  if (!first) return [];
  if ('probability' in first)
    return [
      { name: 'probability', datatype: 'FP32', shape: [n], values: predictions.map((p) => (p as { probability: number }).probability) },
    ];
  if ('value' in first)
    return [{ name: 'value', datatype: 'FP32', shape: [n], values: predictions.map((p) => (p as { value: number }).value) }];
  const rows = predictions as ReadonlyArray<{ class: string; probabilities: Record<string, number> }>;
  // `probabilities` is keyed in the served version's class order (predictionOf builds it so).
  const k = Object.keys(first.probabilities).length;
  return [
    { name: 'class', datatype: 'BYTES', shape: [n], values: rows.map((p) => p.class) },
    { name: 'probabilities', datatype: 'FP32', shape: [n, k], values: rows.flatMap((p) => Object.values(p.probabilities)) },
  ];
}

export interface EncodedResponse {
  json: InferResponse;
  /** The binary outputs' bytes, in the order of the JSON's outputs; empty: a plain JSON answer. */
  binary: Buffer[];
}

/** The response: the requested outputs (all when none are named) in the order asked for, each in
 * binary when it asked for it (or the request did, with `binary_data_output`), else in JSON. */
export function inferResponse(
  request: InferRequest,
  head: Omit<InferResponse, 'outputs'>,
  outputs: readonly OutputTensor[],
): EncodedResponse {
  const allBinary = request.parameters?.binary_data_output === true;
  const byName = new Map(outputs.map((o) => [o.name, o]));
  const wanted = request.outputs
    ? request.outputs.map((r) => ({ tensor: byName.get(r.name), binary: r.parameters?.binary_data ?? allBinary }))
    : outputs.map((tensor) => ({ tensor, binary: allBinary }));
  const binary: Buffer[] = [];
  const json: InferResponse = { ...head, outputs: [] };
  for (const { tensor, binary: asBinary } of wanted) {
    if (!tensor) continue;
    const { name, datatype, shape, values } = tensor;
    if (asBinary) {
      const bytes = encodeBinaryData(datatype, values);
      binary.push(bytes);
      json.outputs.push({ name, datatype, shape, parameters: { binary_data_size: bytes.byteLength } });
    } else json.outputs.push({ name, datatype, shape, data: values });
  }
  return { json, binary };
}
