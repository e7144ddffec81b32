// What a client needs to call one served model, read from the served version's fitted features:
// the input columns with their kinds (and as a JSON Schema), the task with its classes, and an
// example instance built from the fitted state — never from any dataset's names.
import type { ModelIO } from '../lib/features/tabular/model-io.ts';
import { sourceColumn, type InputKind } from '../lib/features/tabular/spec.ts';
import type { TaskKind } from '../lib/tasks/task.ts';
import { NAIVE_TIMESTAMP } from '../lib/time/naive-timestamp.ts';

export interface ModelSchemaView {
  model: string;
  version: number;
  task: TaskKind;
  /** Multiclass: the classes in output order; absent otherwise. */
  classes?: string[];
  /** What a prediction carries besides `version` and `cached`. */
  predictionFields: readonly string[];
  /** Every field an instance must carry (null for a missing value), in the model's order. */
  inputs: { name: string; kind: InputKind }[];
  /** The instance as a JSON Schema object (no other fields accepted). */
  instanceSchema: Record<string, unknown>;
  /** A valid instance: typical values of the fitted features. */
  example: Record<string, unknown>;
}

function jsonSchemaOf(kind: InputKind): Record<string, unknown> {
  switch (kind) {
    case 'number':
      return { type: ['number', 'null'] };
    case 'string':
      return { type: ['string', 'integer', 'null'], description: 'a category; one outside the fitted vocabulary is encoded as unseen' };
    case 'boolean':
      return { type: ['boolean', 'null'], description: 'or 0/1' };
    case 'timestamp':
      return {
        type: ['string', 'null'],
        pattern: NAIVE_TIMESTAMP.source,
        description: 'naive timestamp (no zone), e.g. 2001-03-04T13:45:00',
      };
    default: {
      const length = Number(/\d+/.exec(kind)?.[0]);
      return { type: ['array', 'null'], items: { type: ['number', 'null'] }, minItems: length, maxItems: length };
    }
  }
}

/** A value for each input column: a numeric feature's imputed value, a categorical's most
 * frequent category, a boolean's imputed value, a fixed timestamp, a vector's training means. */
function exampleOf(io: ModelIO): Record<string, unknown> {
  const example: Record<string, unknown> = {};
  io.fitted.spec.features.forEach((def, i) => {
    const column = sourceColumn(def);
    if (column in example) return;
    const state = io.fitted.state[i];
    switch (def.kind) {
      case 'numeric':
        example[column] = state?.kind === 'numeric' ? state.impute : 0;
        break;
      case 'categorical':
        example[column] = state?.kind === 'categorical' ? (state.vocabulary?.[0] ?? null) : null;
        break;
      case 'boolean':
        example[column] = def.impute;
        break;
      case 'datetime':
        example[column] = '2001-03-04T13:45:00';
        break;
      case 'vector':
        example[column] = state?.kind === 'vector' && state.center ? state.center : Array.from({ length: def.length }, () => 0);
    }
  });
  return example;
}

export function modelSchemaView(model: string, version: number, io: ModelIO): ModelSchemaView {
  const inputs = io.inputs.map(({ column, kind }) => ({ name: column, kind }));
  return {
    model,
    version,
    task: io.task.kind,
    ...(io.task.kind === 'multiclass' ? { classes: [...io.task.classes] } : {}),
    predictionFields: io.head.predictionFields,
    inputs,
    instanceSchema: {
      type: 'object',
      additionalProperties: false,
      required: inputs.map((i) => i.name),
      properties: Object.fromEntries(inputs.map((i) => [i.name, jsonSchemaOf(i.kind)])),
    },
    example: exampleOf(io),
  };
}
