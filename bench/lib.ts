// Benchmark plumbing shared by every bench script: interleaved rounds, medians, the one-line
// summary printed last, and raw rounds saved to bench/results/<name>.json.
import { mkdir, writeFile } from 'node:fs/promises';

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

export function isQuick(argv = process.argv): boolean {
  return argv.includes('--quick');
}

export async function saveResults(name: string, data: unknown): Promise<string> {
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  await writeFile(file, JSON.stringify(data, null, 2));
  return file.pathname;
}

export function summaryLine(name: string, values: Record<string, number | string>): string {
  const fmt = (v: number | string) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v);
  return `bench:${name} ${Object.entries(values)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ')}`;
}
