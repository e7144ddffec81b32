// Lint: type-aware, with floating promises as errors (a dropped promise in a worker or server
// is a silent failure). Style is left to the compiler and review.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.flywheel/**', 'bench/results/**', 'tests/artifacts/**', 'tmp/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Layers point one way (STYLE.md 15): lib/ is a library and never reaches up into an app layer.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(activities|workflows|serving|console|workers|cli)(/|$)',
              message:
                'lib/ is a library: it imports no app layer (activities, workflows, serving, console, workers, cli). Move the shared piece down into lib/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Activities are registered by the workers, never the other way round.
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+workers(/|$)',
              message: 'activities/ imports no workers/: a worker registers activities, not the reverse.',
            },
          ],
        },
      ],
    },
  },
  {
    // Every worker maps domain errors to Temporal failures the same way (lib/temporal/failures.ts):
    // workers are made by the one function that installs the mapping.
    files: ['**/*.ts'],
    ignores: ['lib/temporal/worker.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Worker'][callee.property.name='create']",
          message: 'Create workers with createWorker (lib/temporal/worker.ts), so activities get the failure mapping.',
        },
      ],
    },
  },
  {
    // Entry points and the CLI talk to a human on stdout/stderr.
    files: ['cli/**', 'bin/**', 'workers/*/main.ts', 'bench/**', 'tests/**', 'infra/**', 'lib/fatal.ts'],
    rules: { 'no-console': 'off' },
  },
);
