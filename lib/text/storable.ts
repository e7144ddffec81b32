// Text a database (and most other systems) can store: well-formed UTF-16 (no lone surrogate, which
// has no UTF-8 encoding) and no NUL (PostgreSQL text and jsonb refuse it). Inputs are checked with
// `storableTextProblem` at the door; `toStorableText` repairs text that must be kept anyway
// (a reason, a log field).

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** Why `s` cannot be stored as text, or undefined when it can. */
export function storableTextProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (LONE_SURROGATE.test(s)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode text)';
  return undefined;
}

/** `s` with NULs and lone surrogates replaced by U+FFFD. */
export function toStorableText(s: string): string {
  return s.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
}
