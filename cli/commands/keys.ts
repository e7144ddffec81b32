// `flywheel keys …`: API keys for the inference server. The key is printed once, at creation;
// only its hash is stored.
import type { Command } from 'commander';
import { API_KEY_SCOPES, createApiKey, listApiKeys, revokeApiKey, type ApiKeyScope } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { grid, printJson, say, table } from '../output.ts';

async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const { db } = await openDatabase(loadConfig('cli').database);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('API keys for the inference server (`flywheel serve`)');

  keys
    .command('create')
    .description('create a key; it is shown once, store it now')
    .requiredOption('--name <name>', 'who or what uses the key')
    .option('--scopes <list>', `comma-separated scopes: ${API_KEY_SCOPES.join(', ')}`, 'predict')
    .option('--rate-limit <rps>', 'requests per second for this key (default: FLYWHEEL_SERVE_RATE_LIMIT_RPS)')
    .option('--json', 'print the key and its record as JSON')
    .action((opts: { name: string; scopes: string; rateLimit?: string; json?: boolean }) =>
      withDb(async (db) => {
        const scopes = opts.scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean) as ApiKeyScope[];
        const { key, info } = await createApiKey(db, {
          name: opts.name,
          scopes,
          ...(opts.rateLimit !== undefined ? { rateLimitRps: Number(opts.rateLimit) } : {}),
        });
        if (opts.json) return say(JSON.stringify({ key, ...info }));
        say(`API key created (shown once — store it now):\n\n  ${key}\n`);
        say(
          table([
            ['id', info.id],
            ['name', info.name],
            ['scopes', info.scopes.join(', ')],
            ['rate limit', info.rateLimitRps === null ? 'server default' : `${info.rateLimitRps}/s`],
          ]),
        );
        say(`\nUse it as: curl -H "Authorization: Bearer ${key.slice(0, 12)}…" …`);
      }),
    );

  keys
    .command('list')
    .description('keys with their scopes (never the keys themselves)')
    .option('--json', 'print the keys as a JSON array')
    .action((opts: { json?: boolean }) =>
      withDb(async (db) => {
        const all = await listApiKeys(db);
        if (opts.json) return printJson(all);
        if (all.length === 0) return say('no API keys yet: flywheel keys create --name <who> --scopes predict');
        say(
          grid(
            ['ID', 'NAME', 'SCOPES', 'RATE LIMIT', 'CREATED', 'REVOKED'],
            all.map((k) => [
              k.id,
              k.name,
              k.scopes.join(','),
              k.rateLimitRps === null ? 'default' : `${k.rateLimitRps}/s`,
              k.createdAt.toISOString(),
              k.revokedAt?.toISOString() ?? '-',
            ]),
          ),
        );
      }),
    );

  keys
    .command('revoke <id>')
    .description('revoke a key (servers stop accepting it within 10 s)')
    .action((id: string) =>
      withDb(async (db) => {
        const info = await revokeApiKey(db, id);
        say(`revoked ${info.id} (${info.name}) at ${info.revokedAt?.toISOString() ?? ''}`);
      }),
    );
}
