// One connected workflow client for the length of a CLI command, closed afterwards.
import type { Client } from '@temporalio/client';
import { loadConfig } from '../lib/config/index.ts';
import { connectClient } from '../lib/temporal/connection.ts';

export type CliConfig = ReturnType<typeof loadConfig<'cli'>>;

export async function withClient<T>(fn: (client: Client, config: CliConfig) => Promise<T>): Promise<T> {
  const config = loadConfig('cli');
  const client = await connectClient(config.temporal);
  try {
    return await fn(client, config);
  } finally {
    await client.connection.close();
  }
}
