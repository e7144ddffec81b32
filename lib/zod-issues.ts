// How a spec file's schema problems read: one indented line per problem, naming the field by
// its dotted path, so the model spec and the validation spec say it the same way.

import type { z } from 'zod';

interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** `  monitor.drift.numericMethod: Invalid option: …`, one line per issue; `(root)` for the
 * value as a whole. */
export function formatZodIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n');
}

/** `schema.parse` that words every problem with formatZodIssues and throws the caller's error
 * (each spec keeps its own heading and error class). `mapIssue` may rename paths first. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  fail: (issues: string) => Error,
  mapIssue: (issue: z.core.$ZodIssue) => Issue = (i) => i,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw fail(formatZodIssues(result.error.issues.map(mapIssue)));
}
