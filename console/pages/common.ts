// Small pieces the console's pages share: badges for states, workflow links, notes.
import type { ConsoleContext } from '../context.ts';
import { html, type Html } from '../html.ts';
import type { WorkflowRow } from '../read-model.ts';

const GOOD = new Set(['idle', 'promoted', 'COMPLETED', 'ok', 'clean', 'passed']);
const BAD = new Set([
  'failed',
  'FAILED',
  'TERMINATED',
  'TIMED_OUT',
  'validation-failed',
  'gates-failed',
  'rolled-back',
  'rejected',
  'alert',
  'breach',
]);

/** A state as a coloured badge (green: settled well, red: failed, amber: waiting on someone). */
export function badge(text: string, kind?: 'ok' | 'bad' | 'warn'): Html {
  const cls = kind ?? (GOOD.has(text) ? 'ok' : BAD.has(text) ? 'bad' : text === 'awaiting-approval' || text === 'cooldown' ? 'warn' : '');
  return html`<span class="badge ${cls}">${text}</span>`;
}

/** A workflow id, linked into the Temporal Web UI when the console knows where it is. */
export function workflowAnchor(ctx: ConsoleContext, workflowId: string, runId?: string, label?: string): Html {
  const href = ctx.workflowLink(workflowId, runId);
  const text = label ?? workflowId;
  return href ? html`<a href="${href}" rel="noopener" title="open in the Temporal Web UI">${text} ↗</a>` : html`<code>${text}</code>`;
}

/** A visible note that Temporal could not be read: the page shows registry data only. */
export function temporalNote(error: string | undefined): Html | '' {
  return error ? html`<p class="note" role="note">${error} — lifecycle states and workflow links below may be missing.</p>` : '';
}

/** A cycle's outcome: its stage (how it ended) or, while it runs, where it is. */
export function cycleOutcome(w: WorkflowRow): Html {
  const label = w.status === 'RUNNING' ? (w.stage ?? 'running') : (w.stage ?? w.status.toLowerCase());
  return badge(label, w.status === 'RUNNING' ? undefined : w.status === 'COMPLETED' && !w.stage ? 'ok' : undefined);
}

export function versionLink(model: string, version: number | undefined | null): Html | string {
  return version === undefined || version === null ? '–' : html`<a href="/models/${encodeURIComponent(model)}#v${version}">v${version}</a>`;
}
