// The shell every HTML report shares (evaluation, drift): one self-contained page, no scripts
// and no network, charts rendered to inline SVG on the server by Vega-Lite → Vega, one style.
import { parse, View, Error as VEGA_LOG_ERROR } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The two series a comparison chart draws: what is judged (a candidate model, the recent
 * window) and what it is judged against (the champion, the training data). */
export const SERIES_COLORS = { judged: '#1f77b4', baseline: '#ff7f0e' } as const;

export const CHART_SIZE = { width: 340, height: 260 };

/** Text safe in element content and quoted attributes: & < > " ' as numeric references. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders a Vega-Lite spec to an inline SVG string (no scripts in the report). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Warnings would go to the console of whichever worker renders the report.
  const view = new View(parse(compile(spec).spec), { renderer: 'none', logLevel: VEGA_LOG_ERROR });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The reports' shared style sheet (evaluation and drift reports look alike). */
const REPORT_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.summary { padding: .6em .9em; border-radius: 4px; font-weight: 600; }
.summary.passed { background: #e6f4ea; color: #1e6b34; }
.summary.failed { background: #fce8e6; color: #a50e0e; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { text-align: left; padding: .3em .8em; border-bottom: 1px solid #eee; font-variant-numeric: tabular-nums; }
thead th { border-bottom: 2px solid #ccc; }
tr.failed td:nth-child(2) { color: #a50e0e; font-weight: 600; }
tr.passed td:nth-child(2) { color: #1e6b34; }
tr.skipped td:nth-child(2), .muted { color: #777; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: .3em; }
`;

/** A self-contained report page: the title (escaped) and `body`, already HTML, in the shared style. */
export function reportDocument(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
