// Human-facing CLI output: plain lines on stdout, problems on stderr.

export function say(line = ''): void {
  console.log(line);
}

export function warn(line: string): void {
  console.error(line);
}

/** Two aligned columns, for key/value summaries. */
export function table(rows: ReadonlyArray<readonly [string, string]>, indent = '  '): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n');
}
