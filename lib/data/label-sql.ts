// The label as the data plane reads it: SQL over a source row (the model spec's `data.label`), and
// the column the split files carry it in. Its own small module: prepare, the profiles and training
// all use it, and the drift monitor must not load the file and PostgreSQL readers to get it.
import { sqlIdent } from './duck.ts';
import type { LabelSpec } from './source-spec.ts';

/** The label column of the split files (the data contract with training, evaluation and batch):
 * binary INTEGER 0/1, the multiclass class name, the regression DOUBLE. */
export const LABEL_COLUMN = '__label';

/** The label as SQL over a row: the quoted column, or the spec's expression in parentheses. */
export function labelSql(label: LabelSpec): string {
  return typeof label === 'string' ? sqlIdent(label) : `(${label.expression})`;
}

/** The label as people wrote it (a column name or the expression), for reports and keys. */
export function labelText(label: LabelSpec): string {
  return typeof label === 'string' ? label : label.expression;
}
