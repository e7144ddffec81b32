import { describe, expect, it } from 'vitest';
import { CHART_SIZE, escapeHtml, renderSvg, reportDocument } from '../../lib/report/html.ts';

describe('the report shell', () => {
  it('escapes the five characters that matter in content and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });

  it('wraps a body in one self-contained page with the title escaped', () => {
    const html = reportDocument('v4 <b>', '<p>body</p>');
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<title>v4 &#60;b&#62;</title>');
    expect(html).toContain('<h1>v4 &#60;b&#62;</h1>\n<p>body</p>\n</body>');
    expect(html).toContain('<style>\nbody { font: 14px/1.45 system-ui');
    expect(html).not.toMatch(/<script|<link/i);
  });

  it('renders a Vega-Lite chart to inline SVG', async () => {
    const svg = await renderSvg({
      ...CHART_SIZE,
      data: { values: [{ x: 1, y: 2 }] },
      mark: 'point',
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).not.toContain('<script');
  });
});
