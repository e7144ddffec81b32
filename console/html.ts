// Server-rendered HTML for the console: a tagged template that escapes every interpolated value
// unless it is already `Html` (another template, or trusted markup such as a Vega SVG). Pages
// are built from these, so no value read from a spec, a tag or a request reaches the browser
// unescaped.
import { escapeHtml } from '../lib/report/html.ts';

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

/** `html\`<td>${value}</td>\``: values are escaped; arrays are joined; null/undefined/false vanish. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup produced by trusted code (a rendered SVG chart), passed through as is. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

export type { Part as HtmlPart };
