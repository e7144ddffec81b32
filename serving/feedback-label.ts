// How a feedback label is stored (migration 0007): a number (binary 0/1, a regression value) in
// `label`, a class name (multiclass) in `label_class`. When the body names the model, the label
// must suit that model's task; without it any number or class name is taken as it is.
import type { Task } from '../lib/tasks/task.ts';
import { ServingError } from './errors.ts';

export interface StoredLabel {
  label: number | null;
  labelClass: string | null;
}

/** Classes listed in a refusal; a model with more says how many. */
const MAX_LISTED_CLASSES = 50;

function listClasses(classes: readonly string[]): string {
  const shown = classes.slice(0, MAX_LISTED_CLASSES).map((c) => JSON.stringify(c));
  return classes.length > MAX_LISTED_CLASSES ? `${shown.join(', ')} and ${classes.length - MAX_LISTED_CLASSES} more` : shown.join(', ');
}

/** The label as stored, checked against `task` when known; throws a 400 naming `label`. */
export function storedLabel(label: number | string, task: Task | undefined, model?: string): StoredLabel {
  if (!task) return typeof label === 'number' ? { label, labelClass: null } : { label: null, labelClass: label };
  const by = model ? ` (${model} is ${task.kind === 'regression' ? 'a regression model' : `a ${task.kind} classifier`})` : '';
  switch (task.kind) {
    case 'binary':
      if (label === 0 || label === 1) return { label, labelClass: null };
      throw new ServingError('badRequest', `invalid request body: label: must be 0 or 1${by}`);
    case 'regression':
      if (typeof label === 'number' && Number.isFinite(label)) return { label, labelClass: null };
      throw new ServingError('badRequest', `invalid request body: label: must be a finite number${by}`);
    case 'multiclass': {
      // A class named by a number (`3`) may come as the JSON number.
      const name = String(label);
      if (task.classes.includes(name)) return { label: null, labelClass: name };
      throw new ServingError('badRequest', `invalid request body: label: must be one of its classes${by}: ${listClasses(task.classes)}`);
    }
  }
}
