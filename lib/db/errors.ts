// Which database errors are worth retrying. A statement refused for its data (a NUL byte, a lone
// surrogate in JSON, a constraint) fails the same way on every retry, while a dropped connection,
// a timeout or a restarting server may not; callers that retry must tell the two apart, or one
// bad row retried forever blocks every row behind it.

/** SQLSTATE classes where the same statement with the same data fails again: data exception (22),
 * integrity constraint (23), syntax error or access rule (42), program limit exceeded (54). */
const PERMANENT_CLASSES = new Set(['22', '23', '42', '54']);

/** The five-character SQLSTATE of a PostgreSQL or PGlite error, when it has one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when retrying the statement unchanged cannot succeed. */
export function isPermanentDbError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && PERMANENT_CLASSES.has(state.slice(0, 2));
}
