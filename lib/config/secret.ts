// A value that must never reach logs: JSON, string conversion and util.inspect all print a
// placeholder; only `reveal()` returns the real value, at the one place that needs it.
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Replaces the password in a URL's userinfo (`http://user:pw@host`) so the URL can be shown to a
 * person; anything else is returned as written. The last `@` before the path ends the userinfo,
 * as URL parsers read it, so a password containing `@` is hidden whole.
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#\\]*)(.*)$/is.exec(url);
  if (!m) return url;
  const [, scheme, authority = '', rest] = m;
  const at = authority.lastIndexOf('@');
  const colon = authority.slice(0, Math.max(at, 0)).indexOf(':');
  // No userinfo to cut out, yet an `@` in something URL parsers reject: hide it all, it may be a
  // password with a `/` in it.
  if (at < 0 || colon < 0) return url.includes('@') && !URL.canParse(url) ? REDACTED : url;
  return `${scheme}${authority.slice(0, colon)}:${REDACTED}${authority.slice(at)}${rest}`;
}
