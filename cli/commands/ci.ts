// `flywheel ci <spec>`: tests a model spec before it is applied — the pipeline's own steps on a
// sample of its data (cli/ci/run.ts), in this process, with no servers. Exit 0 when every step
// passed, 1 when one failed (the report names it: the gate, its limit and value), 2 for a spec or
// option that is invalid (the field named, as the spec parser words it).
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import { renderCiReport } from '../../lib/ci/report.ts';
import { InvalidSpecError } from '../../lib/data/validation/spec.ts';
import { SourceSpecError } from '../../lib/data/source-spec.ts';
import { FeatureSpecError } from '../../lib/features/tabular/spec.ts';
import { createLogger } from '../../lib/log.ts';
import { loadModelSpec, ModelSpecError, type ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { SpecFileError } from '../../lib/spec-file.ts';
import { trainerPathOrBundled } from '../../workers/shared/trainer-path.ts';
import { runCi, writeReportFiles } from '../ci/run.ts';
import { CliError, EXIT_CODES, printJson, say, warn } from '../output.ts';

/** Rows sampled by default: the examples' cycles run in seconds on it, and every split keeps enough rows to score. */
export const DEFAULT_SAMPLE_ROWS = 2000;

interface CiOptions {
  sampleRows: string;
  data?: string;
  json?: boolean;
  out?: string;
}

/** The spec, or exit 2 naming the field (ModelSpecError's message lists each bad one). */
async function loadSpec(path: string): Promise<ModelSpec> {
  try {
    return await loadModelSpec(path);
  } catch (err) {
    if ([ModelSpecError, SpecFileError, InvalidSpecError, SourceSpecError, FeatureSpecError].some((E) => err instanceof E))
      throw new CliError((err as Error).message, EXIT_CODES.config, { cause: err });
    throw err;
  }
}

function sampleRowsOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10 || n > 10_000_000)
    throw new CliError(`--sample-rows must be an integer from 10 to 10000000, got ${value}`, EXIT_CODES.config);
  return n;
}

export function registerCiCommand(program: Command): void {
  program
    .command('ci')
    .argument('<spec>', 'the model spec (YAML or JSON) to test')
    .description(
      "test a model spec on a sample of its data before applying it: ingest, validate, profile, features, train (the spec's trainer), evaluate with its quality gates, register, and the serving contract (the inference server loads the model and answers a predict request); no servers needed",
    )
    .option('--sample-rows <n>', 'rows sampled (seeded) from the data source', String(DEFAULT_SAMPLE_ROWS))
    .option('--data <file>', "sample this Parquet or CSV file (or a quoted glob) instead of the spec's data.source")
    .option('--json', 'print the report as one JSON document on stdout (progress goes to stderr)')
    .option('--out <dir>', 'keep the reports here: ci-report.json, ci-report.txt, the validation and evaluation reports')
    .addHelpText(
      'after',
      '\nExit codes: 0 every step passed; 1 a step failed (the report says which, and each gate); 2 invalid spec or option.',
    )
    .action(async (specPath: string, opts: CiOptions): Promise<void> => {
      const sampleRows = sampleRowsOf(opts.sampleRows);
      const spec = await loadSpec(specPath);
      if (!spec.data.source && !opts.data)
        throw new CliError(
          `${specPath}: data.source is unset (its partitions arrive by URI): pass --data <file> (Parquet or CSV) to sample instead`,
          EXIT_CODES.config,
        );
      // The worker variables a training activity reads: the TF.js backend and a command trainer's PATH.
      let worker;
      try {
        worker = loadConfig('worker');
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message, EXIT_CODES.config, { cause: err });
        throw err;
      }
      const progress = opts.json ? warn : say;
      progress(`flywheel ci ${specPath}: ${spec.name} (${spec.task}, trainer ${spec.trainer.kind}) on ${sampleRows} sample rows`);
      const trainerPath = trainerPathOrBundled(worker);
      const report = await runCi({
        specPath,
        spec,
        sampleRows,
        ...(opts.data ? { data: [opts.data] } : {}),
        ...(opts.out ? { outDir: opts.out } : {}),
        progress: (line) => progress(`  ${line}`),
        // Library logs only when something is wrong (FLYWHEEL_LOG_LEVEL=info shows them all), on stderr.
        logger: createLogger({ level: process.env.FLYWHEEL_LOG_LEVEL ? worker.logLevel : 'warn' }),
        trainingBackend: worker.worker.trainingBackend,
        ...(trainerPath ? { trainerPath } : {}),
      });
      const text = renderCiReport(report);
      if (opts.out) await writeReportFiles(opts.out, report, text);
      if (opts.json) printJson(report);
      else say(`\n${text}`);
      if (!report.passed) process.exitCode = EXIT_CODES.failed;
    });
}
