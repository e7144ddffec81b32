// Reading a spec file (model, validation, source, feature specs): JSON when the name ends in
// .json, YAML otherwise (YAML reads JSON too). A read or parse error keeps its first line only:
// YAML errors go on to quote the offending source line, which must not reach a terminal or a log
// (a spec path may name any file, secrets included).
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

export class SpecFileError extends Error {
  override readonly name = 'SpecFileError';
}

/** The first line of an error's message, without a trailing colon. */
export function firstLine(err: unknown): string {
  return ((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '').replace(/:\s*$/, '');
}

/** The parsed document; a SpecFileError whose message is the cause's first line. */
export async function readSpecFile(path: string): Promise<unknown> {
  try {
    const text = await readFile(path, 'utf8');
    return /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SpecFileError(firstLine(err));
  }
}
