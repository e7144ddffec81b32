// `flywheel models …`: read the registry and move aliases by hand, with who and why recorded.
// Uses the configured registry (MLflow at MLFLOW_TRACKING_URI, else the built-in one).
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase } from '../../lib/db/index.ts';
import { createRegistry, type AliasMove, type ModelRegistry } from '../../lib/registry/index.ts';
import { grid, printJson, say, table } from '../output.ts';

async function withRegistry<T>(fn: (registry: ModelRegistry, actor: string) => Promise<T>): Promise<T> {
  const config = loadConfig('cli');
  const { db } = await openDatabase(config.database);
  try {
    return await fn(createRegistry(config, db), config.actor ?? userInfo().username);
  } finally {
    await db.close();
  }
}

const MAX_VERSION = 2_147_483_647;

function parseVersion(value: string): number {
  const n = Number(value);
  // Versions are PostgreSQL integers: a larger number is no version, not a database error.
  if (!Number.isInteger(n) || n < 1 || n > MAX_VERSION)
    throw new Error(`version must be an integer from 1 to ${MAX_VERSION}, got ${JSON.stringify(value)}`);
  return n;
}

function fmtAliases(aliases: Record<string, number>): string {
  return (
    Object.entries(aliases)
      .map(([a, v]) => `${a}=v${v}`)
      .join(' ') || '-'
  );
}

function fmtMove(name: string, move: AliasMove): string {
  return `${name}@${move.alias}: ${move.fromVersion === null ? '(none)' : `v${move.fromVersion}`} → v${move.toVersion} by ${move.actor} (${move.reason})`;
}

interface MoveOptions {
  reason: string;
  actor?: string;
  alias: string;
}

/** The options every alias move takes: why, who, and which alias. */
function withMoveOptions(command: Command, aliasHelp: string): Command {
  return command
    .requiredOption('--reason <text>', 'why (recorded in the alias history)')
    .option('--actor <name>', 'who (default: FLYWHEEL_ACTOR or the OS user)')
    .option('--alias <alias>', aliasHelp, 'champion');
}

const jsonOption = ['--json', 'print JSON instead of a table'] as const;

interface JsonOption {
  json?: boolean;
}

function fmtMetric(v: number | undefined): string {
  return v === undefined ? '-' : v.toFixed(4);
}

export function registerModelCommands(program: Command): void {
  const models = program.command('models').description('the model registry: versions, aliases, history');

  models
    .command('list')
    .description('registered models with their latest version and aliases')
    .option(...jsonOption)
    .action((opts: JsonOption) =>
      withRegistry(async (r) => {
        const all = await r.listModels();
        if (opts.json) return printJson(all);
        if (all.length === 0) return say('No models registered yet.');
        say(
          grid(
            ['MODEL', 'LATEST', 'ALIASES', 'CREATED'],
            all.map((m) => [m.name, String(m.latestVersion ?? '-'), fmtAliases(m.aliases), m.createdAt]),
          ),
        );
      }),
    );

  models
    .command('show')
    .argument('<name>')
    .description('one model: aliases and the history of every alias move')
    .option(...jsonOption)
    .action((name: string, opts: JsonOption) =>
      withRegistry(async (r) => {
        const m = await r.getModel(name);
        const history = await r.aliasHistory(name);
        if (opts.json) return printJson({ ...m, history });
        say(
          table([
            ['Model', m.name],
            ['Description', m.description || '-'],
            ['Latest version', String(m.latestVersion ?? '-')],
            ['Aliases', fmtAliases(m.aliases)],
          ]),
        );
        say('');
        say(
          history.length === 0
            ? 'No alias moves yet.'
            : grid(
                ['WHEN', 'ALIAS', 'FROM', 'TO', 'BY', 'WHY'],
                history.map((h) => [
                  h.at,
                  h.alias,
                  h.fromVersion === null ? '-' : `v${h.fromVersion}`,
                  h.toVersion === null ? '(removed)' : `v${h.toVersion}`,
                  h.actor,
                  h.reason,
                ]),
              ),
        );
      }),
    );

  models
    .command('versions')
    .argument('<name>')
    .description('versions of a model, newest first, with their key metrics and lineage')
    .option(...jsonOption)
    .action((name: string, opts: JsonOption) =>
      withRegistry(async (r) => {
        const versions = await r.searchVersions(name);
        if (opts.json) return printJson(versions);
        if (versions.length === 0) return say(`${name} has no versions yet.`);
        say(
          grid(
            ['VERSION', 'ALIASES', 'AUC', 'DATASET', 'RUN', 'CREATED'],
            versions.map((v) => [
              `v${v.version}`,
              v.aliases.join(' ') || '-',
              fmtMetric(v.metrics.rocAuc),
              v.lineage.datasetVersion,
              v.runId,
              v.createdAt,
            ]),
          ),
        );
      }),
    );

  withMoveOptions(models.command('promote').argument('<name>').argument('<version>'), 'which alias to move')
    .description('point an alias (default champion) at a version')
    .action((name: string, version: string, opts: MoveOptions) =>
      withRegistry(async (r, actor) =>
        say(fmtMove(name, await r.setAlias(name, opts.alias, parseVersion(version), { actor: opts.actor ?? actor, reason: opts.reason }))),
      ),
    );

  withMoveOptions(models.command('rollback').argument('<name>'), 'which alias to roll back')
    .description('move an alias back to the version it pointed at before its last move')
    .action((name: string, opts: MoveOptions) =>
      withRegistry(async (r, actor) =>
        say(fmtMove(name, await r.rollback(name, { actor: opts.actor ?? actor, reason: opts.reason }, opts.alias))),
      ),
    );

  models
    .command('report')
    .argument('<name>')
    .argument('<version>')
    .description("print where a version's evaluation report and gate report are")
    .option(...jsonOption)
    .action((name: string, version: string, opts: JsonOption) =>
      withRegistry(async (r) => {
        const v = await r.getVersion(name, parseVersion(version));
        if (opts.json)
          return printJson({
            model: v.model,
            version: v.version,
            evaluationReportUri: v.tags['flywheel.report'] ?? null,
            gateReportUri: v.gateReportUri ?? null,
            artifactUri: v.artifactUri,
          });
        say(
          table([
            ['Evaluation report', v.tags['flywheel.report'] ?? '-'],
            ['Gate report', v.gateReportUri ?? '-'],
            ['Model file', v.artifactUri],
          ]),
        );
      }),
    );
}
