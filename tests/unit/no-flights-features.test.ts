// Flights is one example, never the shape of the code: no module of the platform (lib, activities,
// workflows, serving, workers, the CLI's commands) may encode, label or profile flights by hand.
// Its features, label and validation live in examples/flights/*.yaml; the hand-written encoder
// survives only as a benchmark baseline in examples/flights/legacy-encoder.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const SCANNED = ['lib', 'activities', 'workflows', 'serving', 'workers', 'cli/commands'];

/** What flights-specific feature code looks like: the legacy encoder's names and modules, and the
 * flights columns spelled as literals (how code reads a column by name). */
const FORBIDDEN: Array<{ what: string; pattern: RegExp }> = [
  {
    what: 'an import of the legacy flights encoder',
    pattern: /from\s+['"][^'"]*(features\/flights|features\/fit|legacy-encoder)(\.ts)?['"]/,
  },
  {
    what: 'a legacy flights encoder name',
    pattern:
      /\b(encodeFlights|FlightsFeatureSpec|fitFlightsFeatureSpec|flightsLabel|FLIGHTS_LABEL_SQL|FLIGHTS_PROFILE_FEATURES|FlightInstance|buildFlightsFeatures|loadFlightsSplit|loadFlightsRows)\b/,
  },
  { what: 'a flights column read by name', pattern: /['"`](origin|destination|distance|delay)['"`]/ },
  { what: 'the flights label rule', pattern: /delay\s*>\s*15/ },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

export function findFlightsCode(root: string, dirs: readonly string[]): string[] {
  const hits: string[] = [];
  for (const dir of dirs) {
    for (const file of sourceFiles(join(root, dir))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may name the example
          for (const { what, pattern } of FORBIDDEN)
            if (pattern.test(line)) hits.push(`${relative(root, file)}:${i + 1}: ${what}: ${line.trim()}`);
        });
    }
  }
  return hits;
}

describe('no flights-specific feature code outside examples/', () => {
  it('the platform layers encode, label and profile every table through the feature spec', () => {
    expect(findFlightsCode(ROOT, SCANNED)).toEqual([]);
  });

  it('the check fires on the code it forbids', () => {
    const samples = [
      "import { encodeFlights } from '../features/flights.ts';",
      'const x = encodeFlights(spec, batch);',
      "const d = row['distance'];",
      'SELECT CAST(delay > 15 AS INTEGER)',
    ];
    for (const line of samples)
      expect(
        FORBIDDEN.some(({ pattern }) => pattern.test(line)),
        line,
      ).toBe(true);
    expect(FORBIDDEN.some(({ pattern }) => pattern.test("const d = row['temperature'];"))).toBe(false);
  });
});
