// The drift monitor's signal payloads as the workflow validates them: what the `temporal` CLI
// sends without --input (undefined), empty objects and junk are told apart from real requests.
import { describe, expect, it } from 'vitest';
import { monitorSpecSchema } from '../../lib/model-spec/monitor-spec.ts';
import { MAX_REFUSED_KEPT, parseCheckNow, parseMonitorSettings, recordRefused } from '../../lib/monitor/payloads.ts';

describe('drift monitor payloads', () => {
  it('checkNow takes nothing, {} or { reason }, and refuses anything else', () => {
    for (const ok of [undefined, {}, { reason: 'flywheel monitor check' }]) expect(parseCheckNow(ok).ok).toBe(true);
    for (const junk of ['junk', 42, [1, 2], null, { reason: 7 }]) expect(parseCheckNow(junk)).toMatchObject({ ok: false });
  });

  it('updateMonitorSettings takes a whole monitor section (defaults filled in) and names the bad field', () => {
    expect(parseMonitorSettings({ monitor: { interval: '10m' } })).toEqual({
      ok: true,
      value: { monitor: monitorSpecSchema.parse({ interval: '10m' }) },
    });
    for (const junk of [undefined, {}, 'junk', { monitor: null }]) expect(parseMonitorSettings(junk).ok).toBe(false);
    const bad = parseMonitorSettings({ monitor: { interval: 'soon', breachesToAlert: 0 } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toContain('monitor.interval');
      expect(bad.error).toContain('monitor.breachesToAlert');
    }
  });

  it('keeps the newest refusals only', () => {
    let list = recordRefused([], { handler: 'checkNow', at: 't0', reason: 'e' });
    for (let i = 1; i < 25; i++) list = recordRefused(list, { handler: 'checkNow', at: `t${i}`, reason: 'e' });
    expect(list).toHaveLength(MAX_REFUSED_KEPT);
    expect(list.at(-1)!.at).toBe('t24');
  });
});
