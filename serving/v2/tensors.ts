// Tensors of the Open Inference Protocol (KServe V2): their datatypes, and their data read from
// JSON (`data`) or from the binary part of a request (Triton's binary tensor data extension),
// and written back the same two ways. Every problem is a 400 naming the tensor, never a throw
// of anything else: the bytes come from the client.
import { ServingError } from '../errors.ts';

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

/** FP16 is a valid V2 datatype, but no Flywheel input is half precision and JavaScript has no
 * half-precision view to read it with; it is refused by name rather than decoded approximately. */
const SUPPORTED: ReadonlySet<string> = new Set(DATATYPES.filter((d) => d !== 'FP16'));

/** One element of a decoded tensor. Integers beyond 2^53 lose precision as JavaScript numbers,
 * which is what a JSON request would have done to them anyway. */
export type TensorValue = number | boolean | string;

/** A tensor's data, flat in row-major order. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  values: TensorValue[];
}

const WIDTH: Record<Exclude<Datatype, 'BYTES'>, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
};

const INTEGER_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65_535],
  UINT32: [0, 4_294_967_295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32_768, 32_767],
  INT32: [-2_147_483_648, 2_147_483_647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function bad(tensor: string, message: string): ServingError {
  return new ServingError('badRequest', `${tensor}: ${message}`);
}

/** The datatype `datatype` names, or a 400 naming the tensor. */
export function parseDatatype(tensor: string, datatype: string): Datatype {
  if (!(DATATYPES as readonly string[]).includes(datatype))
    throw bad(tensor, `unknown datatype ${JSON.stringify(datatype.slice(0, 32))} (one of ${[...SUPPORTED].join(', ')})`);
  if (!SUPPORTED.has(datatype)) throw bad(tensor, `datatype ${datatype} is not supported here (use FP32)`);
  return datatype as Datatype;
}

/** The number of elements `shape` holds. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The elements of a JSON `data` array: flat, or nested row-major as deep as the shape, each of
 * the datatype's JSON type. The element count must be the shape's.
 */
export function decodeJsonData(tensor: string, datatype: Datatype, shape: readonly number[], data: readonly unknown[]): TensorValue[] {
  const expected = elementCount(shape);
  const values: TensorValue[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (Array.isArray(value)) {
      if (depth >= shape.length) throw bad(tensor, `data is nested deeper than its shape [${shape.join(', ')}]`);
      for (const v of value as unknown[]) {
        visit(v, depth + 1);
        if (values.length > expected)
          throw bad(tensor, `data holds more than the ${expected} elements its shape [${shape.join(', ')}] holds`);
      }
      return;
    }
    values.push(jsonElement(tensor, datatype, value, values.length));
  };
  for (const v of data) {
    visit(v, 1);
    if (values.length > expected) throw bad(tensor, `data holds more than the ${expected} elements its shape [${shape.join(', ')}] holds`);
  }
  if (values.length !== expected)
    throw bad(tensor, `data holds ${values.length} elements, its shape [${shape.join(', ')}] holds ${expected}`);
  return values;
}

function jsonElement(tensor: string, datatype: Datatype, value: unknown, index: number): TensorValue {
  switch (datatype) {
    case 'BOOL':
      if (typeof value === 'boolean') return value;
      throw bad(tensor, `element ${index}: a BOOL tensor holds true or false`);
    case 'BYTES':
      if (typeof value === 'string') return value;
      throw bad(tensor, `element ${index}: a BYTES tensor holds strings in JSON`);
    case 'FP16':
    case 'FP32':
    case 'FP64':
      if (typeof value === 'number') return value;
      throw bad(tensor, `element ${index}: a ${datatype} tensor holds numbers`);
    default: {
      const [min, max] = INTEGER_RANGE[datatype]!;
      if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
      throw bad(tensor, `element ${index}: a ${datatype} tensor holds integers from ${min} to ${max}`);
    }
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The elements of a tensor sent in binary: fixed-width little-endian values filling `bytes`
 * exactly, or for BYTES each element as a 4-byte little-endian length and that many bytes of
 * UTF-8. Sizes are checked before anything is allocated for the elements.
 */
export function decodeBinaryData(tensor: string, datatype: Datatype, shape: readonly number[], bytes: Uint8Array): TensorValue[] {
  const count = elementCount(shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === 'BYTES') {
    if (count * 4 > bytes.byteLength)
      throw bad(tensor, `binary_data_size ${bytes.byteLength} cannot hold ${count} BYTES elements (4 bytes of length each at least)`);
    const values: string[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 4 > bytes.byteLength) throw bad(tensor, `element ${i}: truncated: its 4-byte length runs past the tensor's binary data`);
      const length = view.getUint32(at, true);
      at += 4;
      if (length > bytes.byteLength - at)
        throw bad(tensor, `element ${i}: truncated: its length says ${length} bytes, ${bytes.byteLength - at} are left`);
      try {
        values.push(UTF8.decode(bytes.subarray(at, at + length)));
      } catch {
        throw bad(tensor, `element ${i}: not valid UTF-8 text`);
      }
      at += length;
    }
    if (at !== bytes.byteLength)
      throw bad(tensor, `binary_data_size is ${bytes.byteLength} but its ${count} BYTES elements take ${at} bytes`);
    return values;
  }
  const width = WIDTH[datatype];
  if (count * width !== bytes.byteLength)
    throw bad(
      tensor,
      `binary_data_size is ${bytes.byteLength} but shape [${shape.join(', ')}] of ${datatype} takes ${count * width} bytes`,
    );
  const read = reader(datatype, view);
  const values = new Array<TensorValue>(count);
  for (let i = 0; i < count; i++) {
    const value = read(i * width);
    if (datatype === 'BOOL' && value !== 0 && value !== 1) throw bad(tensor, `element ${i}: a BOOL byte is 0 or 1, not ${value}`);
    values[i] = datatype === 'BOOL' ? value === 1 : value;
  }
  return values;
}

function reader(datatype: Exclude<Datatype, 'BYTES'>, view: DataView): (at: number) => number {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return (at) => view.getUint8(at);
    case 'INT8':
      return (at) => view.getInt8(at);
    case 'UINT16':
      return (at) => view.getUint16(at, true);
    case 'INT16':
      return (at) => view.getInt16(at, true);
    case 'UINT32':
      return (at) => view.getUint32(at, true);
    case 'INT32':
      return (at) => view.getInt32(at, true);
    case 'UINT64':
      return (at) => Number(view.getBigUint64(at, true));
    case 'INT64':
      return (at) => Number(view.getBigInt64(at, true));
    case 'FP32':
      return (at) => view.getFloat32(at, true);
    case 'FP64':
      return (at) => view.getFloat64(at, true);
    case 'FP16':
      throw new Error('FP16 is refused by parseDatatype');
  }
}

/** The binary form of an output tensor (FP32 or BYTES: what Flywheel answers with). */
export function encodeBinaryData(datatype: 'FP32' | 'BYTES', values: readonly (number | string)[]): Buffer {
  if (datatype === 'FP32') {
    const out = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => out.writeFloatLE(v as number, i * 4));
    return out;
  }
  const parts = values.map((v) => Buffer.from(String(v), 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}
