// `flywheel init`: bring your own data. Reads a CSV or Parquet file, proposes model.yaml,
// features.yaml and validation.yaml beside each other, and prints the commands that take them to
// a served, monitored model (docs/onboarding.md).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Option, type Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { OnboardingError } from '../../lib/onboarding/errors.ts';
import { nextCommands, proposeProject, writeProposal } from '../../lib/onboarding/init.ts';
import { createArtifactStore, LocalArtifactStore, s3OptionsFrom } from '../../lib/storage/index.ts';
import { TASK_KINDS, type TaskKind } from '../../lib/tasks/task.ts';
import { CliError, EXIT_CODES, say, warn } from '../output.ts';

interface InitOpts {
  data: string;
  label: string;
  task?: TaskKind;
  name?: string;
  time?: string;
  out?: string;
  force?: boolean;
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('propose model.yaml, features.yaml and validation.yaml for a CSV or Parquet file, and print the next commands')
    .requiredOption(
      '--data <path-or-uri>',
      'the data: a CSV or Parquet file (or glob, or prefix ending in /), a path, file:// or s3:// URI',
    )
    .requiredOption('--label <column>', 'the column to predict')
    .addOption(new Option('--task <task>', 'what to predict (default: inferred from the label)').choices(TASK_KINDS))
    .option('--name <model>', 'the model name (default: <dataset>-<label>)')
    .option('--time <column>', 'the time column (default: a DATE or TIMESTAMP column, one named date/time first)')
    .option('--out <dir>', 'where the three files go (default: the current directory)')
    .option('--force', 'replace files already there')
    .action(async (opts: InitOpts) => {
      const config = loadConfig('cli');
      const outDir = resolve(opts.out ?? '.');
      const tmp = await mkdtemp(join(tmpdir(), 'flywheel-init-'));
      try {
        // Reading needs a store only for s3:// data in the configured bucket; a local store
        // would create .flywheel/ in whatever directory init runs in, so it lives in tmp instead.
        const store = config.artifactStore.uri.startsWith('s3://')
          ? await createArtifactStore(config.artifactStore)
          : await LocalArtifactStore.create(pathToFileURL(join(tmp, 'store')).toString());
        const proposal = await withDuck((duck) =>
          proposeProject(
            duck,
            { store, s3: s3OptionsFrom(config.artifactStore) },
            {
              data: opts.data,
              label: opts.label,
              tmpDir: tmp,
              progress: warn,
              ...(opts.task ? { task: opts.task } : {}),
              ...(opts.name ? { name: opts.name } : {}),
              ...(opts.time ? { time: opts.time } : {}),
            },
          ),
        );
        const { paths } = await writeProposal(proposal, outDir, opts.force === true);
        warn(`Wrote ${paths.join(', ')}`);
        say(`Next (from this directory):`);
        for (const line of nextCommands(proposal, outDir)) say(`  ${line}`);
      } catch (err) {
        if (err instanceof OnboardingError) throw new CliError(err.message, EXIT_CODES.config, { cause: err });
        throw err;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
}
