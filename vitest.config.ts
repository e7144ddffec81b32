// Two projects: fast unit tests (mocks allowed) and integration tests against real servers
// that the global setup provisions and starts through infra/scripts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/temp-root.ts'],
          // Unit files run in parallel on two cores: a PGlite start plus migrations can pass 5 s there.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          // The temporary folder comes after the servers: they outlive a run and keep their own.
          globalSetup: ['tests/integration/global-setup.ts', 'tests/temp-root.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Servers are shared; files run one at a time so 2 cores are not oversubscribed.
          fileParallelism: false,
        },
      },
    ],
  },
});
