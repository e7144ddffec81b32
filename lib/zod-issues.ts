// How a spec file's schema problems read: one indented line per problem, naming the field by
// its dotted path, so the model spec and the validation spec say it the same way.

interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** `  monitor.drift.numericMethod: Invalid option: …`, one line per issue; `(root)` for the
 * value as a whole. */
export function formatZodIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n');
}
