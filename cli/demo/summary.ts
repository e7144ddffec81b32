// The demo's closing summary: the cycles table, each month's traffic, and where the reports are.
import { REPORT_TAG, type ModelRegistry } from '../../lib/registry/index.ts';
import type { ReplayStats } from '../../lib/traffic/replay.ts';
import { ROLLOUT_TAGS } from '../../activities/rollout/index.ts';
import type { DriftMonitorStatus } from '../../lib/contracts/drift-monitor.ts';
import type { CycleSummary, LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';

export interface DemoSummary {
  spec: string;
  elapsedMs: number;
  cycles: CycleSummary[];
  champion: number | null;
  traffic: ReplayStats[];
  reports: Array<[string, string]>;
  webUiUrl: string;
}

export async function collectReports(
  registry: ModelRegistry,
  status: LifecycleStatus,
  monitor: DriftMonitorStatus | undefined,
  driftReports: string[],
): Promise<Array<[string, string]>> {
  const reports: Array<[string, string]> = [];
  for (const c of status.history) {
    if (!c.version) continue;
    const tags = (await registry.getVersion(status.model, c.version)).tags;
    const report = tags[REPORT_TAG];
    const evidence = tags[ROLLOUT_TAGS.evidence];
    if (report) reports.push([`v${c.version} evaluation report`, report]);
    if (evidence) reports.push([`v${c.version} rollout evidence (${tags[ROLLOUT_TAGS.outcome] ?? ''})`, evidence]);
  }
  // The first breaching check's report explains the alert; else the latest check's.
  const breach = driftReports[0];
  const latest = monitor?.state.lastCheck?.htmlUri;
  if (breach) reports.push(['drift report (breach)', breach]);
  else if (latest) reports.push(['drift report (latest check)', latest]);
  return reports;
}

export function printSummary(s: DemoSummary, out: (l: string) => void): void {
  const rows = s.cycles.map((c) => [
    String(c.cycle),
    c.triggers.map((t) => t.kind).join('+'),
    c.datasetVersion ?? '',
    c.version ? `v${c.version}` : '',
    c.metrics?.rocAuc !== undefined ? c.metrics.rocAuc.toFixed(4) : '',
    c.stage,
    c.endedAt && c.startedAt ? `${Math.round((Date.parse(c.endedAt) - Date.parse(c.startedAt)) / 1000)}s` : '',
  ]);
  const widths = ['cycle', 'trigger', 'dataset version', 'version', 'test AUC', 'outcome', 'took'].map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i]!.length)),
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  out('');
  out(`Flywheel demo finished in ${(s.elapsedMs / 60_000).toFixed(1)} minutes; champion: ${s.champion ? `v${s.champion}` : 'none'}`);
  out('');
  out(line(['cycle', 'trigger', 'dataset version', 'version', 'test AUC', 'outcome', 'took']));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out(line(r));
  out('');
  for (const t of s.traffic) {
    out(
      `traffic ${t.source}: ${t.ok} answered, ${t.failed} failed${t.failed ? ` (${JSON.stringify(t.failures)})` : ''}, ${t.feedback.posted} labels, p50 ${t.latencyMs.p50.toFixed(1)} ms, p99 ${t.latencyMs.p99.toFixed(1)} ms`,
    );
  }
  out('');
  const width = Math.max(...s.reports.map(([k]) => k.length), 6);
  for (const [k, v] of [['Web UI', s.webUiUrl] as [string, string], ...s.reports]) out(`  ${k.padEnd(width)}  ${v}`);
}
