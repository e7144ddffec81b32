// Which feedback rows are labels of a task (SQL over `prediction_feedback`): binary 0/1, a
// multiclass class name, a finite regression value. The drift monitor and the rollout's online
// analysis both judge a model by these rows, so they read the same rule.
import type { TaskKind } from './task.ts';

/** The condition on feedback alias `f` that keeps the task's labels. */
export function feedbackLabelFilter(task: TaskKind, f = 'f'): string {
  switch (task) {
    case 'binary':
      return `${f}.label IN (0, 1)`;
    case 'multiclass':
      return `${f}.label_class IS NOT NULL`;
    case 'regression':
      return `${f}.label IS NOT NULL AND ${f}.label NOT IN ('NaN', 'Infinity', '-Infinity')`;
  }
}
