// What changes between two model specs, as dotted paths with the old and new values: the
// answer of the `updateSpec` Update and of `flywheel pipeline diff`. Pure, so workflows use it.

export interface SpecChange {
  /** Dotted path, array items by index: `retrain.cooldown`, `rollout.steps.0.weight`. */
  path: string;
  /** Absent: the field is new. */
  from?: unknown;
  /** Absent: the field was removed. */
  to?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(path: string[], from: unknown, to: unknown, out: SpecChange[]): void {
  if (isObject(from) && isObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    for (const key of keys) walk([...path, key], from[key], to[key], out);
    return;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    for (let i = 0; i < Math.max(from.length, to.length); i++) walk([...path, String(i)], from[i], to[i], out);
    return;
  }
  if (JSON.stringify(from) === JSON.stringify(to)) return;
  out.push({
    path: path.join('.') || '(root)',
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  });
}

/** Every leaf that differs between `from` and `to` (JSON values), in key order. */
export function diffSpecs(from: unknown, to: unknown): SpecChange[] {
  const out: SpecChange[] = [];
  walk([], from, to, out);
  return out;
}

/** Whether any change is under one of the sections (`retrain`, `monitor`…). */
export function touches(changes: readonly SpecChange[], section: string): boolean {
  return changes.some((c) => c.path === section || c.path.startsWith(`${section}.`));
}

/** One line per change: `retrain.cooldown: "0s" → "1h"`. */
export function formatSpecChanges(changes: readonly SpecChange[]): string {
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  return changes.map((c) => `${c.path}: ${show(c.from)} → ${show(c.to)}`).join('\n');
}
