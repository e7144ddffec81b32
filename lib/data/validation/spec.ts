// The declarative validation spec, one per dataset (JSON or YAML). Hard rules stop the pipeline
// (DataValidationFailed); soft rules are warnings in the report.
import { z } from 'zod';
import { parseOrThrow } from '../../zod-issues.ts';
import { firstLine, readSpecFile } from '../../spec-file.ts';

export const COLUMN_TYPES = ['integer', 'float', 'string', 'timestamp', 'boolean'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

const bound = z.union([z.number(), z.string()]);

export const columnRuleSchema = z
  .object({
    /** Logical type; `float` also accepts integer columns (widening), not the reverse. */
    type: z.enum(COLUMN_TYPES),
    /** A missing or renamed column is a hard violation. @default true */
    required: z.boolean().default(true),
    /** false: any null is a hard violation. @default true */
    nullable: z.boolean().default(true),
    /** Hard upper bound on the null ratio (0..1). */
    maxNullRatio: z.number().min(0).max(1).optional(),
    /** Inclusive bounds (numbers, or ISO timestamps for timestamp columns). */
    min: bound.optional(),
    max: bound.optional(),
    /** Allowed categories (strings). */
    allowed: z.array(z.string()).min(1).optional(),
    /** A regular expression every non-null value must match entirely. */
    pattern: z.string().optional(),
    /** Hard: share of rows in categories the reference profile never saw. */
    maxUnseenShare: z.number().min(0).max(1).optional(),
    /** Soft: largest allowed change of any category's share vs the reference profile. */
    maxCategoryShareDelta: z.number().min(0).max(1).optional(),
  })
  .strict();

export const validationSpecSchema = z
  .object({
    dataset: z.string().min(1),
    rowCount: z
      .object({ min: z.number().int().min(0).optional(), max: z.number().int().positive().optional() })
      .strict()
      .default({}),
    /** Columns the spec does not name: a warning when true, a hard violation when false. @default true */
    allowExtraColumns: z.boolean().default(true),
    reference: z
      .object({
        /** Hard when a column's null ratio reaches this multiple of the reference's. @default 5 */
        maxNullRatioFactor: z.number().positive().default(5),
        /** …and exceeds this absolute ratio (so 0 → a few nulls is not an alarm). @default 0.001 */
        nullRatioFloor: z.number().min(0).max(1).default(0.001),
        /** Soft: row count outside [min×, max×] the reference's. @default { min: 0.5, max: 2 } */
        rowCountFactor: z.object({ min: z.number().positive(), max: z.number().positive() }).default({ min: 0.5, max: 2 }),
      })
      .strict()
      .default({ maxNullRatioFactor: 5, nullRatioFloor: 0.001, rowCountFactor: { min: 0.5, max: 2 } }),
    columns: z.record(z.string(), columnRuleSchema),
  })
  .strict();

export type ValidationSpec = z.output<typeof validationSpecSchema>;
export type ValidationSpecInput = z.input<typeof validationSpecSchema>;
export type ColumnRule = z.output<typeof columnRuleSchema>;

export class InvalidSpecError extends Error {
  override readonly name = 'InvalidSpecError';
}

/** Parses a spec object, naming the offending field on error. */
export function parseValidationSpec(value: unknown, source = 'validation spec'): ValidationSpec {
  return parseOrThrow(validationSpecSchema, value, (issues) => new InvalidSpecError(`invalid ${source}:\n${issues}`));
}

export async function loadValidationSpec(path: string): Promise<ValidationSpec> {
  const value = await readSpecFile(path).catch((err: unknown) => {
    throw new InvalidSpecError(`cannot read validation spec ${path}: ${firstLine(err)}`);
  });
  return parseValidationSpec(value, path);
}
