// The serving contract, as `flywheel ci` checks a predict answer: one prediction per instance, in
// the task's shape (binary: a probability in [0, 1]; multiclass: one of the fitted classes and a
// probability for each that sum to 1; regression: a finite value), from the version it registered.
import type { Task } from '../tasks/task.ts';

/** Problems listed per answer; the rest are counted. */
const MAX_PROBLEMS = 10;

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function checkOne(task: Task, p: Record<string, unknown>, i: number, version: number): string[] {
  const at = `predictions[${i}]`;
  const problems: string[] = [];
  if (p.version !== version) problems.push(`${at}.version: ${JSON.stringify(p.version)}, expected ${version}`);
  switch (task.kind) {
    case 'binary':
      if (!finite(p.probability) || p.probability < 0 || p.probability > 1)
        problems.push(`${at}.probability: ${JSON.stringify(p.probability)} is not a probability in [0, 1]`);
      break;
    case 'multiclass': {
      if (typeof p.class !== 'string' || !task.classes.includes(p.class))
        problems.push(`${at}.class: ${JSON.stringify(p.class)} is not one of the fitted classes (${task.classes.join(', ')})`);
      const probs = p.probabilities;
      if (typeof probs !== 'object' || probs === null || Array.isArray(probs)) {
        problems.push(`${at}.probabilities: missing`);
        break;
      }
      const entries = Object.entries(probs as Record<string, unknown>);
      const names = entries.map(([k]) => k).sort();
      if (names.join('\u0000') !== [...task.classes].sort().join('\u0000'))
        problems.push(`${at}.probabilities: classes ${names.join(', ')}, expected ${task.classes.join(', ')}`);
      if (!entries.every(([, v]) => finite(v) && v >= 0 && v <= 1)) problems.push(`${at}.probabilities: a value outside [0, 1]`);
      else {
        const sum = entries.reduce((s, [, v]) => s + (v as number), 0);
        if (Math.abs(sum - 1) > 1e-3) problems.push(`${at}.probabilities: sum to ${sum.toFixed(4)}, not 1`);
      }
      break;
    }
    case 'regression':
      if (!finite(p.value)) problems.push(`${at}.value: ${JSON.stringify(p.value)} is not a finite number`);
      break;
  }
  return problems;
}

/** What is wrong with a predict answer to `instances` instances; empty when it keeps the contract. */
export function checkPredictAnswer(task: Task, version: number, instances: number, body: unknown): string[] {
  const predictions = (body as { predictions?: unknown } | null)?.predictions;
  if (!Array.isArray(predictions)) return ['the answer has no predictions array'];
  const problems: string[] = [];
  if (predictions.length !== instances) problems.push(`${predictions.length} predictions for ${instances} instances`);
  for (let i = 0; i < predictions.length; i++) {
    const p = predictions[i] as unknown;
    if (typeof p !== 'object' || p === null) problems.push(`predictions[${i}]: not an object`);
    else problems.push(...checkOne(task, p as Record<string, unknown>, i, version));
  }
  return problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `and ${problems.length - MAX_PROBLEMS} more`] : problems;
}
