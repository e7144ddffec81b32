// A model spec that does not fit the data fails validation before any training: each column the
// feature spec, the label or the time reads is checked for presence and type, and the problems are
// entries of the stored validation report.
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { DataValidationError } from '../../lib/data/errors.ts';
import { validateDatasetVersion } from '../../lib/data/prepare.ts';
import { specColumnProblems } from '../../lib/data/spec-columns.ts';
import { parseValidationSpec } from '../../lib/data/validation/spec.ts';
import { parseFeatureSpec } from '../../lib/features/tabular/spec.ts';
import { byoDataset } from './helpers/byo-prepare-table.ts';

const TABLE = `(SELECT * FROM (VALUES
  (TIMESTAMP '2012-01-01 10:00:00', '2012-01-01 10:00', 'Oslo', 3.5, 1, true, 'sun', [1.0, 2.0]),
  (TIMESTAMP '2012-01-02 11:00:00', 'not a time', 'Rome', 4.0, 2, false, 'rain', [1.0])
) t("when", when_text, city, wind, ones, windy, sky, vec))`;

describe('spec-vs-data column checks', () => {
  it('passes when every column the model reads is there with a usable type', async () => {
    await withDuck(async (duck) => {
      const features = parseFeatureSpec({
        features: [
          { name: 'hour', kind: 'datetime', column: 'when', parts: ['hour'] },
          { name: 'wind', kind: 'numeric' },
          { name: 'city', kind: 'categorical' },
          { name: 'ones_cat', kind: 'categorical', column: 'ones' },
          { name: 'windy', kind: 'boolean' },
        ],
      });
      expect(await specColumnProblems(duck, TABLE, { features, label: 'sky', task: 'multiclass', time: 'when' })).toEqual([]);
      expect(await specColumnProblems(duck, TABLE, { features, label: { expression: 'wind > 3.7' }, task: 'binary' })).toEqual([]);
    });
  });

  it('names each missing column and each incompatible type', async () => {
    await withDuck(async (duck) => {
      const features = parseFeatureSpec({
        features: [
          { name: 'gust', kind: 'numeric' },
          { name: 'city_num', kind: 'numeric', column: 'city' },
          { name: 'on', kind: 'boolean', column: 'ones' },
          { name: 'when_text', kind: 'datetime', parts: ['month'] },
          { name: 'vec', kind: 'vector', length: 2 },
          { name: 'windy_vec', kind: 'vector', column: 'windy', length: 2 },
        ],
      });
      const problems = await specColumnProblems(duck, TABLE, { features, label: 'sky', task: 'regression', time: 'city' });
      const messages = problems.map((p) => p.message);
      expect(problems.every((p) => p.severity === 'error' && p.rule === 'spec_column')).toBe(true);
      expect(messages).toEqual([
        expect.stringMatching(/^the feature spec reads column gust, which is not in the data \(columns: when, when_text, city/),
        'the feature spec: column city is VARCHAR; a numeric feature needs a number column',
        'the feature spec: column windy is BOOLEAN; a vector feature needs a list of numbers',
        'the label: column sky is VARCHAR; a regression label needs a number',
        'the feature spec: column ones has 1 rows with values other than 0 and 1 (e.g. 2)',
        'the feature spec: column when_text has 1 rows with text that is not a timestamp (e.g. not a time)',
        'the feature spec: column vec has 1 rows with lists whose length is not 2 (e.g. [1.0])',
        'the time column: column city has 2 rows with text that is not a timestamp (e.g. Oslo, Rome)',
      ]);
    });
  });

  it('reports a label expression that does not run, and binary labels other than 0/1', async () => {
    await withDuck(async (duck) => {
      const [bad] = await specColumnProblems(duck, TABLE, { label: { expression: 'delay > 15' } });
      expect(bad?.message).toMatch(/^the label expression delay > 15 does not run on this data: Binder Error/);
      const [notBinary] = await specColumnProblems(duck, TABLE, { label: 'ones', task: 'binary' });
      expect(notBinary?.message).toBe('the label: column ones has 1 rows with values other than 0 and 1 (e.g. 2)');
    });
  });

  it('fails the dataset validation with the mismatches in the stored report', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const spec = parseValidationSpec({ dataset: 'byo', columns: {}, allowExtraColumns: true });
      const features = parseFeatureSpec({ features: [{ name: 'distance', kind: 'numeric' }] });
      const err = await validateDatasetVersion(duck, store, manifest, spec, undefined, undefined, {
        features,
        label: 'late',
        time: 'when',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataValidationError);
      const { report, reportUri } = err as DataValidationError;
      expect(report.passed).toBe(false);
      expect(report.problems.filter((p) => p.severity === 'error').map((p) => p.column)).toEqual(['distance']);
      expect(reportUri).toMatch(/validation-[0-9a-f]{16}\.json$/);
      // The same table passes with a spec it fits.
      const fits = parseFeatureSpec({ features: [{ name: 'wind', kind: 'numeric' }] });
      const ok = await validateDatasetVersion(duck, store, manifest, spec, undefined, undefined, {
        features: fits,
        label: 'late',
        time: 'when',
      });
      expect(ok.report.passed).toBe(true);
    });
  });
});
