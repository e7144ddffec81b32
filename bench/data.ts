// B8 — bench:data: profile + drift over the 3M flights rows (DuckDB, columnar) against a naive
// row-object implementation of the same outputs, interleaved in the same run. Also checks the
// detector on injected shifts (each must be flagged) and on no-drift controls (none may be).
//
//   npm run bench:data            # 3M rows, 1 warm-up + 5 rounds each
//   npm run bench:data -- --quick # 300k rows, 1 round (CI smoke test; asserts nothing on speed)
import { compareProfiles } from '../lib/data/drift/index.ts';
import { withDuck, type Duck } from '../lib/data/duck.ts';
import { flightsParquetPath } from '../lib/data/flights.ts';
import { profileTable } from '../lib/data/profile.ts';
import type { DatasetProfile } from '../lib/data/profile-types.ts';
import { isQuick, median, saveResults, summaryLine, timed } from './lib.ts';
import { naiveProfile } from './naive-profile.ts';
import { FLIGHTS_PROFILE_FEATURES } from '../examples/flights/legacy-encoder.ts';

const quick = isQuick();
const rowLimit = quick ? 300_000 : 3_000_000;
const rounds = quick ? 1 : 5;
const warmups = quick ? 0 : 1;
const source = `read_parquet('${flightsParquetPath()}')`;

/** Candidate: load the rows into DuckDB, profile them, compare with the reference. */
async function candidate(duck: Duck, reference: DatasetProfile) {
  const { ms: profileMs, value: profile } = await timed(async () => {
    await duck.run(`CREATE OR REPLACE TEMP TABLE rows_all AS SELECT * FROM ${source}${quick ? ` LIMIT ${rowLimit}` : ''}`);
    return profileTable(duck, { from: 'rows_all', source: 'all', features: FLIGHTS_PROFILE_FEATURES, reference });
  });
  const { ms: driftMs, value: report } = await timed(async () => compareProfiles(reference, profile));
  return { profileMs, driftMs, report };
}

async function baseline(duck: Duck, reference: DatasetProfile) {
  const { ms: profileMs, value: profile } = await timed(() =>
    naiveProfile(duck, `(SELECT * FROM ${source}${quick ? ` LIMIT ${rowLimit}` : ''})`, 'all', reference),
  );
  const { ms: driftMs, value: report } = await timed(async () => compareProfiles(reference, profile));
  return { profileMs, driftMs, report };
}

interface Scenario {
  name: string;
  /** SQL over `half_b` producing the current window. */
  sql: string;
  shifted: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'control: random half', sql: 'SELECT * FROM half_b', shifted: [] },
  { name: 'control: random quarter', sql: 'SELECT * FROM half_b WHERE hash(rowid) % 2 = 0', shifted: [] },
  { name: 'distance ×1.25', sql: 'SELECT * REPLACE (CAST(distance * 1.25 AS BIGINT) AS distance) FROM half_b', shifted: ['distance'] },
  { name: 'delay +25 min', sql: 'SELECT * REPLACE (delay + 25 AS delay) FROM half_b', shifted: ['delay'] },
  {
    name: 'hour +4h (same day)',
    sql: `SELECT * REPLACE (CASE WHEN hour(date) < 20 THEN date + INTERVAL 4 HOUR ELSE date END AS date) FROM half_b`,
    shifted: ['hour'],
  },
  {
    name: '30% unseen origins',
    sql: `SELECT * REPLACE (CASE WHEN hash(rowid) % 10 < 3 THEN 'Q' || chr(65 + (hash(rowid) % 26)::INTEGER) || 'Z' ELSE origin END AS origin) FROM half_b`,
    shifted: ['origin'],
  },
  {
    name: 'destination mix: 40% to one hub',
    sql: `SELECT * REPLACE (CASE WHEN hash(rowid) % 5 < 2 THEN 'ATL' ELSE destination END AS destination) FROM half_b`,
    shifted: ['destination'],
  },
];

async function detectorChecks(duck: Duck) {
  await duck.run(`CREATE OR REPLACE TEMP TABLE base AS SELECT * FROM ${source} LIMIT ${rowLimit}`);
  await duck.run(`CREATE OR REPLACE TEMP TABLE half_a AS SELECT * FROM base WHERE hash(rowid) % 2 = 0`);
  await duck.run(`CREATE OR REPLACE TEMP TABLE half_b AS SELECT * FROM base WHERE hash(rowid) % 2 = 1`);
  const reference = await profileTable(duck, { from: 'half_a', source: 'half_a', features: FLIGHTS_PROFILE_FEATURES });
  let missed = 0;
  let falseAlarms = 0;
  const results = [];
  for (const s of SCENARIOS) {
    await duck.run(`CREATE OR REPLACE TEMP TABLE cur AS ${s.sql}`);
    const profile = await profileTable(duck, { from: 'cur', source: s.name, features: FLIGHTS_PROFILE_FEATURES, reference });
    const report = compareProfiles(reference, profile);
    const flagged = report.features.filter((f) => f.drifted).map((f) => f.feature);
    const m = s.shifted.filter((f) => !flagged.includes(f));
    const fa = flagged.filter((f) => !s.shifted.includes(f));
    missed += m.length;
    falseAlarms += fa.length;
    results.push({ scenario: s.name, shifted: s.shifted, flagged, missed: m, falseAlarms: fa, summary: report.summary });
    console.log(
      `  ${s.name.padEnd(34)} flagged=[${flagged.join(', ')}]${m.length ? ` MISSED=[${m}]` : ''}${fa.length ? ` FALSE=[${fa}]` : ''}`,
    );
  }
  return { missed, falseAlarms, results, reference };
}

await withDuck(async (duck) => {
  console.log(
    `bench:data — ${rowLimit.toLocaleString('en-US')} rows, ${warmups} warm-up + ${rounds} rounds, interleaved (candidate, baseline)`,
  );
  console.log('detector checks (reference = random half A):');
  const checks = await detectorChecks(duck);
  // The timed workload compares everything with the half-A profile, like a monitor would.
  const reference = checks.reference;
  const cand: Array<{ profileMs: number; driftMs: number }> = [];
  const base: Array<{ profileMs: number; driftMs: number }> = [];
  for (let i = 0; i < warmups + rounds; i++) {
    const c = await candidate(duck, reference);
    const b = await baseline(duck, reference);
    if (c.report.drifted !== b.report.drifted) throw new Error('candidate and baseline disagree on the drift verdict');
    if (i >= warmups) {
      cand.push({ profileMs: c.profileMs, driftMs: c.driftMs });
      base.push({ profileMs: b.profileMs, driftMs: b.driftMs });
    }
    console.log(
      `  round ${i + 1}${i < warmups ? ' (warm-up)' : ''}: candidate ${(c.profileMs + c.driftMs).toFixed(0)} ms, baseline ${(b.profileMs + b.driftMs).toFixed(0)} ms`,
    );
  }
  const ratios = cand.map((c, i) => (base[i]!.profileMs + base[i]!.driftMs) / (c.profileMs + c.driftMs));
  const summary = {
    speedup: median(ratios),
    profile_3m_s: median(cand.map((c) => c.profileMs)) / 1000,
    drift_ms: median(cand.map((c) => c.driftMs)),
    baseline_s: median(base.map((b) => b.profileMs + b.driftMs)) / 1000,
    missed_shifts: checks.missed,
    false_alarms: checks.falseAlarms,
    rows: rowLimit,
    rounds,
  };
  const file = await saveResults('data', { summary, candidate: cand, baseline: base, detector: checks.results });
  console.log(`raw rounds: ${file}`);
  console.log(summaryLine('data', summary));
});
