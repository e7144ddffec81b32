// Labels steer rollouts and the drift monitor, so both count only labels they can attribute: posted
// by a key (not the unattributed rows from before attribution) and a class (0 or 1).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { readWindow } from '../../lib/monitor/window.ts';
import { readArmStats } from '../../lib/rollout/analysis.ts';

let dir: string;
let db: PGliteDatabase;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-labels-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
  // Four predictions; labels: one attributed 1, one attributed 0, one unattributed, one 0.5.
  for (let i = 0; i < 4; i++) {
    await db.query(
      `INSERT INTO prediction_log (request_id, instance, model, model_version, shadow, features, output, latency_ms, created_at)
       VALUES ($1, 0, 'm', 1, false, '{}'::jsonb, $2, 1, now())`,
      [`r${i}`, 0.2 + i * 0.2],
    );
  }
  await db.query(
    `INSERT INTO prediction_feedback (request_id, instance, label, key_id) VALUES ('r0', 0, 1, 'k1'), ('r1', 0, 0, 'k1'), ('r2', 0, 1, NULL), ('r3', 0, 0.5, 'k1')`,
  );
}, 60_000);

afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('label attribution', () => {
  it('the rollout analysis counts only attributed 0/1 labels', async () => {
    const stats = await readArmStats(db, {
      model: 'm',
      version: 1,
      shadow: false,
      since: new Date(Date.now() - 60_000).toISOString(),
      until: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(stats.samples).toBe(4);
    expect(stats.labels).toBe(2);
    expect(stats.positives).toBe(1);
  });

  it('the drift monitor window sees labels only on those predictions', async () => {
    const rows = await readWindow(db, { model: 'm', version: 1, windowMs: 60_000 });
    expect(rows).toHaveLength(4);
    expect(
      rows
        .filter((r) => r.label !== null)
        .map((r) => r.label)
        .sort(),
    ).toEqual([0, 1]);
  });
});
