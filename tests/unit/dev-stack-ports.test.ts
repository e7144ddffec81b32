// `flywheel dev` / `flywheel demo` refuse a taken port up front: the Temporal dev server only
// logs it, and the SDK would then talk to whatever listens there.
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertPortFree } from '../../cli/dev/stack.ts';

describe('assertPortFree', () => {
  it('passes on a free port and names the port and its purpose when it is taken', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await expect(assertPortFree(port, 'the Web UI (--ui-port)')).rejects.toThrow(
        `port ${port} for the Web UI (--ui-port) is already in use`,
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    await expect(assertPortFree(port, 'the Web UI (--ui-port)')).resolves.toBeUndefined();
  });
});
