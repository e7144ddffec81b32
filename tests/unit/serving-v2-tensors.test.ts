// V2 tensors in and out: JSON data flat or nested, every fixed-width datatype read little-endian
// from the binary extension's bytes, BYTES as length-prefixed UTF-8, and every size, shape and
// byte that does not add up refused with a ServingError (400) naming the tensor.
import { describe, expect, it } from 'vitest';
import { ServingError } from '../../serving/errors.ts';
import { splitBody } from '../../serving/v2/body.ts';
import { decodeBinaryData, decodeJsonData, encodeBinaryData, parseDatatype } from '../../serving/v2/tensors.ts';

function refused(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ServingError);
    expect((err as ServingError).status).toBe(400);
    return (err as ServingError).message;
  }
  throw new Error('expected a 400');
}

const T = 'input "x"';

describe('JSON data', () => {
  it('reads flat and nested row-major data of the shape', () => {
    expect(decodeJsonData(T, 'FP32', [2, 2], [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
    expect(
      decodeJsonData(
        T,
        'FP32',
        [2, 2],
        [
          [1, 2],
          [3, 4],
        ],
      ),
    ).toEqual([1, 2, 3, 4]);
    expect(decodeJsonData(T, 'BYTES', [2], ['a', 'é'])).toEqual(['a', 'é']);
    expect(decodeJsonData(T, 'BOOL', [2, 1], [[true], [false]])).toEqual([true, false]);
    expect(decodeJsonData(T, 'INT8', [2], [-128, 127])).toEqual([-128, 127]);
  });

  it('refuses counts, nesting and element types that do not fit', () => {
    expect(refused(() => decodeJsonData(T, 'FP32', [3], [1, 2]))).toBe('input "x": data holds 2 elements, its shape [3] holds 3');
    expect(refused(() => decodeJsonData(T, 'FP32', [1], [1, 2]))).toBe(
      'input "x": data holds more than the 1 elements its shape [1] holds',
    );
    expect(refused(() => decodeJsonData(T, 'FP32', [2], [[1, 2]]))).toBe('input "x": data is nested deeper than its shape [2]');
    expect(refused(() => decodeJsonData(T, 'BOOL', [1], [1]))).toBe('input "x": element 0: a BOOL tensor holds true or false');
    expect(refused(() => decodeJsonData(T, 'BYTES', [1], [5]))).toBe('input "x": element 0: a BYTES tensor holds strings in JSON');
    expect(refused(() => decodeJsonData(T, 'UINT8', [1], [256]))).toBe('input "x": element 0: a UINT8 tensor holds integers from 0 to 255');
    expect(refused(() => decodeJsonData(T, 'INT32', [1], [1.5]))).toMatch(/INT32 tensor holds integers/);
  });
});

describe('binary data', () => {
  it('reads every fixed-width datatype little-endian', () => {
    const b = Buffer.alloc(8);
    b.writeFloatLE(1.5, 0);
    b.writeFloatLE(-2.25, 4);
    expect(decodeBinaryData(T, 'FP32', [2], b)).toEqual([1.5, -2.25]);
    const d = Buffer.alloc(8);
    d.writeDoubleLE(Math.PI);
    expect(decodeBinaryData(T, 'FP64', [1], d)).toEqual([Math.PI]);
    const i = Buffer.alloc(8);
    i.writeInt32LE(-7, 0);
    i.writeInt32LE(2_000_000_000, 4);
    expect(decodeBinaryData(T, 'INT32', [2, 1], i)).toEqual([-7, 2_000_000_000]);
    const l = Buffer.alloc(8);
    l.writeBigInt64LE(-(2n ** 40n));
    expect(decodeBinaryData(T, 'INT64', [1], l)).toEqual([-(2 ** 40)]);
    const u = Buffer.alloc(2);
    u.writeUInt16LE(65_535);
    expect(decodeBinaryData(T, 'UINT16', [1], u)).toEqual([65_535]);
    expect(decodeBinaryData(T, 'BOOL', [3], Buffer.from([1, 0, 1]))).toEqual([true, false, true]);
    expect(decodeBinaryData(T, 'INT8', [1], Buffer.from([0xff]))).toEqual([-1]);
  });

  it('reads a view into a larger buffer at its own offset', () => {
    const whole = Buffer.alloc(12);
    whole.writeFloatLE(3, 4);
    whole.writeFloatLE(4, 8);
    expect(decodeBinaryData(T, 'FP32', [2], whole.subarray(4))).toEqual([3, 4]);
  });

  it('round-trips BYTES and FP32 through the encoder, empty strings and multibyte text included', () => {
    const strings = ['', 'New York', 'Zürich', '東京'];
    const bytes = encodeBinaryData('BYTES', strings);
    expect(bytes.length).toBe(4 * 4 + Buffer.byteLength(strings.join(''), 'utf8'));
    expect(decodeBinaryData(T, 'BYTES', [4], bytes)).toEqual(strings);
    expect(decodeBinaryData(T, 'FP32', [2], encodeBinaryData('FP32', [0.5, -1]))).toEqual([0.5, -1]);
  });

  it('refuses sizes that do not fit the shape, truncated BYTES, bad UTF-8 and bad BOOL bytes', () => {
    expect(refused(() => decodeBinaryData(T, 'FP32', [3], Buffer.alloc(8)))).toBe(
      'input "x": binary_data_size is 8 but shape [3] of FP32 takes 12 bytes',
    );
    expect(refused(() => decodeBinaryData(T, 'BOOL', [1], Buffer.from([2])))).toBe('input "x": element 0: a BOOL byte is 0 or 1, not 2');
    const ab = encodeBinaryData('BYTES', ['ab']);
    expect(refused(() => decodeBinaryData(T, 'BYTES', [2], Buffer.concat([ab, Buffer.from([1, 0, 0, 0])])))).toBe(
      'input "x": element 1: truncated: its length says 1 bytes, 0 are left',
    );
    expect(refused(() => decodeBinaryData(T, 'BYTES', [2], Buffer.concat([ab, Buffer.from([0, 0])])))).toBe(
      'input "x": element 1: truncated: its 4-byte length runs past the tensor\'s binary data',
    );
    expect(refused(() => decodeBinaryData(T, 'BYTES', [1], Buffer.concat([ab, Buffer.from([9])])))).toBe(
      'input "x": binary_data_size is 7 but its 1 BYTES elements take 6 bytes',
    );
    expect(refused(() => decodeBinaryData(T, 'BYTES', [1], Buffer.from([1, 0, 0, 0, 0xff])))).toBe(
      'input "x": element 0: not valid UTF-8 text',
    );
    // A huge element count is refused from the sizes, before anything is allocated for it.
    expect(refused(() => decodeBinaryData(T, 'BYTES', [1_000_000_000], Buffer.alloc(8)))).toMatch(/cannot hold 1000000000 BYTES elements/);
  });
});

describe('datatypes', () => {
  it('names the tensor for an unknown or unsupported datatype', () => {
    expect(parseDatatype(T, 'FP32')).toBe('FP32');
    expect(refused(() => parseDatatype(T, 'float32'))).toMatch(/^input "x": unknown datatype "float32" \(one of BOOL, UINT8/);
    expect(refused(() => parseDatatype(T, 'FP16'))).toBe('input "x": datatype FP16 is not supported here (use FP32)');
  });
});

describe('the binary extension body', () => {
  const parse = (text: string) => JSON.parse(text) as unknown;

  it('splits the JSON header from the tensors by Inference-Header-Content-Length', () => {
    const body = Buffer.concat([Buffer.from('{"a":1}'), Buffer.from([1, 2, 3])]);
    const { json, binary } = splitBody(body, '7', parse);
    expect(json).toEqual({ a: 1 });
    expect([...binary]).toEqual([1, 2, 3]);
    expect(splitBody(Buffer.from('{"a":2}'), undefined, parse)).toEqual({ json: { a: 2 }, binary: Buffer.alloc(0) });
  });

  it('refuses a header length past the body, not a number, or an empty JSON part', () => {
    expect(refused(() => splitBody(Buffer.from('{}'), '3', parse))).toBe(
      'Inference-Header-Content-Length is 3 but the body has only 2 bytes',
    );
    expect(refused(() => splitBody(Buffer.from('{}'), '-1', parse))).toBe('Inference-Header-Content-Length must be a number of bytes');
    expect(refused(() => splitBody(Buffer.from('{}'), '0', parse))).toMatch(/needs a JSON body/);
    expect(refused(() => splitBody(Buffer.from('{"a"'), undefined, parse))).toMatch(/^malformed JSON body: /);
  });
});
