// `flywheel data …`: seed the flights data lake, publish a partition's arrival (a flights month, or
// any model's `data.source` with --spec), validate a file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { MONTH_PATTERN } from '../../lib/data/flights.ts';
import {
  arriveFlightsMonth,
  flightsMonths,
  arriveSourcePartitions,
  listSourcePartitions,
  seedFlights,
  type DataArrivedEvent,
} from '../../lib/data/lake.ts';
import { loadModelSpec, type ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { readProfile } from '../../lib/data/prepare.ts';
import { materializeSource, readSql } from '../../lib/data/sources.ts';
import { validateTable } from '../../lib/data/validation/engine.ts';
import { buildReport, renderReportText, type ValidationReport } from '../../lib/data/validation/report.ts';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import { createArtifactStore, s3OptionsFrom } from '../../lib/storage/index.ts';
import { notifyDataArrived } from '../../lib/lifecycle/notify.ts';
import { printJson, say, warn } from '../output.ts';
import { connectCli, TemporalUnreachableError } from '../temporal-client.ts';

/** The fields of a model spec's `data` that say where partitions come from. */
function pick(data: ModelSpec['data']) {
  return {
    ...(data.source ? { source: data.source } : {}),
    ...(data.partition ? { partition: data.partition } : {}),
    ...(data.time !== undefined ? { time: data.time } : {}),
  };
}

function toUri(value: string): string {
  return /^(file|s3):\/\//.test(value) ? value : pathToFileURL(resolve(value)).toString();
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('the data lake: seed, arrivals, validation');

  data
    .command('seed')
    .description('write the flights data into the artifact store as monthly partitions (idempotent)')
    .option('--months <list>', 'comma-separated months (YYYY-MM); default: all')
    .action(async (opts: { months?: string }) => {
      const config = loadConfig('cli');
      const store = await createArtifactStore(config.artifactStore);
      const months = opts.months?.split(',').map((m) => m.trim());
      say(`Seeding flights into ${store.baseUri}`);
      const seeded = await withDuck((duck) => seedFlights(duck, store, months, (line) => say(`  ${line}`)));
      say(`Done: ${seeded.filter((s) => s.written).length} written, ${seeded.filter((s) => !s.written).length} already present.`);
    });

  data
    .command('arrive')
    .argument(
      '[partitions...]',
      'the partitions to publish: flights months YYYY-MM, or with --spec partitions of its data.source; several: the earlier ones are recorded and the last starts one cycle',
    )
    .description(
      "publish partitions as data-arrival events (cut into the lake first if needed) and notify the lifecycles; flights by default, any model's data.source with --spec",
    )
    .option('--spec <model.yaml>', "cut the partitions from this model spec's data.source, partitioned by its data.partition")
    .option('--list', 'print the partitions available (of --spec, or the flights months) and exit')
    .option('--all', 'publish every partition available, oldest first (one training cycle on all of them)')
    .option('--no-notify', 'only publish the events; do not signal the model lifecycles')
    .option(
      '--no-retrain',
      'signal the lifecycles, but only record the partitions for their next cycle (drift, the Schedule or a person starts it)',
    )
    .action(
      async (
        named: string[],
        opts: { spec?: string; list?: boolean; all?: boolean; notify?: boolean; retrain?: boolean },
      ): Promise<void> => {
        const config = loadConfig('cli');
        const store = await createArtifactStore(config.artifactStore);
        const ctx = { store, s3: s3OptionsFrom(config.artifactStore) };
        const spec: ModelSpec | undefined = opts.spec ? await loadModelSpec(opts.spec) : undefined;
        const data = spec ? { dataset: spec.data.dataset, ...pick(spec.data) } : undefined;
        const available = () =>
          withDuck((duck) =>
            data
              ? listSourcePartitions(duck, ctx, data)
              : flightsMonths(duck).then((ms) => ms.map((m) => ({ name: m.month, rows: m.rows }))),
          );
        if (opts.list) {
          for (const p of await available()) say(`${p.name}\t${p.rows} rows`);
          return;
        }
        if (opts.all && named.length > 0) throw new Error('name partitions or pass --all, not both');
        if (!opts.all && named.length === 0) throw new Error('name the partition to publish (or pass --all, or --list to see them)');
        let arrived: Array<{ event: DataArrivedEvent; isNew: boolean }>;
        if (data) {
          // One read of the source for every partition.
          arrived = await withDuck((duck) => arriveSourcePartitions(duck, ctx, data, opts.all ? 'all' : named));
        } else {
          const months = opts.all ? (await available()).map((p) => p.name) : named;
          const bad = months.find((p) => !MONTH_PATTERN.test(p));
          if (bad !== undefined) throw new Error(`a flights partition is a month: month must be YYYY-MM, got ${JSON.stringify(bad)}`);
          arrived = [];
          for (const month of months) arrived.push(await withDuck((duck) => arriveFlightsMonth(duck, store, month)));
        }
        const events: DataArrivedEvent[] = [];
        for (const { event, isNew } of arrived) {
          say(isNew ? `Published ${event.eventId}` : `Already published: ${event.eventId} (same data, no new event)`);
          if (arrived.length === 1) say(JSON.stringify(event, null, 2));
          events.push(event);
        }
        if (opts.notify === false) return;
        // Signal-with-start every lifecycle that consumes the dataset; a repeat is ignored by id.
        let client;
        try {
          client = await connectCli(config.temporal);
        } catch (err) {
          // The events are out; only the notification is missing, and a rerun delivers it once.
          if (err instanceof TemporalUnreachableError)
            warn(
              'Published, but no lifecycle was notified: run this again once Temporal answers (no event is published twice), or pass --no-notify.',
            );
          throw err;
        }
        try {
          let models: string[] = [];
          for (const [i, event] of events.entries()) {
            // Only the last of several starts a cycle: one cycle trains on all of them.
            const retrain = opts.retrain !== false && i === events.length - 1;
            models = await notifyDataArrived(client, store, {
              eventId: event.eventId,
              dataset: event.dataset,
              partition: event.partition,
              uris: event.uris,
              ...(retrain ? {} : { retrain: false }),
            });
          }
          say(
            models.length
              ? `Notified the lifecycle of ${models.join(', ')}${events.length > 1 ? ` (${events.length} partitions; the last starts the cycle)` : ''}.`
              : 'No model consumes this dataset yet: `flywheel pipeline start <spec.yaml>` first.',
          );
        } finally {
          await client.connection.close();
        }
      },
    );

  data
    .command('validate')
    .argument('<uri>', 'a Parquet or CSV file: path, file:// or s3:// URI')
    .requiredOption('--spec <file>', 'validation spec (YAML or JSON)')
    .option('--reference <profile-uri>', 'reference profile for the relative rules')
    .option('--json', 'print the report as JSON instead of text')
    .description('validate a file by hand: prints the report; exit 0 when it passes, 1 on hard violations')
    .action(async (target: string, opts: { spec: string; reference?: string; json?: boolean }) => {
      const config = loadConfig('cli');
      const spec = await loadValidationSpec(opts.spec);
      const store = await createArtifactStore(config.artifactStore);
      const uri = toUri(target);
      const tmp = await mkdtemp(join(tmpdir(), 'flywheel-validate-'));
      let report: ValidationReport;
      try {
        const file = await materializeSource({ store, s3: s3OptionsFrom(config.artifactStore) }, uri, tmp);
        const reference = opts.reference ? await readProfile(store, opts.reference) : undefined;
        report = await withDuck(async (duck) => {
          if (file.size === 0)
            return buildReport(
              spec.dataset,
              uri,
              0,
              [{ severity: 'error', rule: 'unreadable', message: `cannot read ${uri}: the file is empty (0 bytes)` }],
              false,
            );
          try {
            await duck.all(`SELECT count(*) FROM ${readSql([file])}`);
          } catch (err) {
            const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
            return buildReport(
              spec.dataset,
              uri,
              0,
              [{ severity: 'error', rule: 'unreadable', message: `cannot read ${uri}: ${detail}` }],
              false,
            );
          }
          return validateTable(duck, { from: readSql([file]), spec, subject: uri, ...(reference ? { reference } : {}) });
        });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      if (opts.json) printJson(report);
      else say(renderReportText(report));
      process.exitCode = report.passed ? 0 : 1;
    });
}
