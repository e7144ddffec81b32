// Writes the YAML `flywheel init` proposes by hand, line by line, because the point of the files
// is the comment beside each choice (a YAML library's document model makes those awkward).
// Values are written plain when that is unambiguous and as JSON strings (valid YAML) otherwise.

const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;
const PLAIN = /^[A-Za-z_][A-Za-z0-9_.\-/]*$/;

export type FlowValue = string | number | boolean | null | readonly FlowValue[] | { readonly [key: string]: FlowValue | undefined };

/** One scalar: plain when safe, else JSON-quoted. */
export function scalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} in a spec`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
}

/** A value on one line: `[a, b]`, `{ k: v }` or a scalar. Undefined object fields are left out. */
export function flow(value: FlowValue): string {
  if (Array.isArray(value)) return `[${(value as readonly FlowValue[]).map(flow).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, FlowValue | undefined>).filter(([, v]) => v !== undefined);
    return `{ ${entries.map(([k, v]) => `${scalar(k)}: ${flow(v!)}`).join(', ')} }`;
  }
  return scalar(value as string | number | boolean | null);
}

/** `# text` lines at an indent; an empty text gives no line. */
export function comment(text: string, indent = ''): string[] {
  return text ? text.split('\n').map((line) => `${indent}# ${line}`.trimEnd()) : [];
}

/** Rounds away from the middle to four significant digits: a bound with a readable margin. */
export function outward(x: number, direction: 'down' | 'up'): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const step = 10 ** (Math.floor(Math.log10(Math.abs(x))) - 3);
  const rounded = direction === 'down' ? Math.floor(x / step) * step : Math.ceil(x / step) * step;
  return Number(rounded.toPrecision(12));
}

/** Four significant digits, for numbers in comments. */
export function short(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/** A line with a trailing `# note` aligned at a fixed column, so a file's notes line up. */
export function noted(line: string, note: string, column = 32): string {
  return `${line.padEnd(column - 1)} # ${note}`;
}
