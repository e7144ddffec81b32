// The README is the user's manual: every configuration variable and npm script it relies on
// must exist, and every variable Flywheel reads must be documented.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../lib/config/index.ts';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };

describe('README', () => {
  it('documents every configuration variable in its table', () => {
    const missing = Object.keys(ENV_VARS).filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });

  it('mentions only npm scripts that exist', () => {
    // `npm run bench:<name>` is a pattern, not a script: names ending in ':' are skipped.
    const used = [...readme.matchAll(/npm run ([a-z:-]+)/g)].map((m) => m[1]!).filter((s) => !s.endsWith(':'));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((s) => !(s in pkg.scripts))).toEqual([]);
  });

  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm install\nnpx flywheel dev');
    expect(readme).toContain('npm test');
  });
});
