// Desired (git) × observed (running lifecycles) → the actions that bring one to the other. Pure and
// free of Node imports: the reconciler workflow plans in workflow code, `flywheel apply` and
// `flywheel diff` plan in the CLI, and both read the same answer.
import type { LifecycleDesiredState } from '../contracts/model-lifecycle.ts';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import { diffSpecs, type SpecChange } from '../lifecycle/spec-diff.ts';

export interface PlannedModel {
  name: string;
  state: LifecycleDesiredState;
  spec: ModelSpec;
}

export interface ObservedLifecycle {
  name: string;
  /** The spec the running lifecycle answers with (its `spec` Query). */
  spec: ModelSpec;
  /** Its owner-set state (`paused` only once the lifecycle supports setState). */
  state: LifecycleDesiredState;
}

export type GitopsAction =
  /** No lifecycle runs: start `model/<name>` with the spec. */
  | { kind: 'create'; model: string; spec: ModelSpec; state: LifecycleDesiredState }
  /** The running spec differs: the `updateSpec` Update (never a terminate). */
  | { kind: 'update'; model: string; spec: ModelSpec; changes: SpecChange[] }
  | { kind: 'pause' | 'resume' | 'retire'; model: string }
  /** Runs but git does not list it: retired when the environment prunes, else reported. */
  | { kind: 'unmanaged'; model: string; retire: boolean };

export type GitopsActionKind = GitopsAction['kind'];

const STATE_ACTION = { active: 'resume', paused: 'pause', retired: 'retire' } as const;

/**
 * What to do, models in name order; per model the update comes before a state change so a paused
 * model still gets its new spec. A retired model that no longer runs needs nothing.
 */
export function planGitops(
  desired: { models: readonly PlannedModel[]; prune: boolean; /** Plain spec files: no `unmanaged`. @default true */ complete?: boolean },
  observed: readonly ObservedLifecycle[],
): GitopsAction[] {
  const running = new Map(observed.map((o) => [o.name, o]));
  const actions: GitopsAction[] = [];
  for (const m of [...desired.models].sort((a, b) => a.name.localeCompare(b.name))) {
    const o = running.get(m.name);
    if (!o) {
      if (m.state !== 'retired') actions.push({ kind: 'create', model: m.name, spec: m.spec, state: m.state });
      continue;
    }
    if (m.state !== 'retired') {
      const changes = diffSpecs(o.spec, m.spec);
      if (changes.length) actions.push({ kind: 'update', model: m.name, spec: m.spec, changes });
    }
    if (o.state !== m.state) actions.push({ kind: STATE_ACTION[m.state], model: m.name });
  }
  if (desired.complete === false) return actions; // plain spec files speak for themselves only
  const listed = new Set(desired.models.map((m) => m.name));
  for (const o of [...observed].sort((a, b) => a.name.localeCompare(b.name)))
    if (!listed.has(o.name)) actions.push({ kind: 'unmanaged', model: o.name, retire: desired.prune });
  return actions;
}

/** One line for a person: `update flights-delay: gates.minAuc: 0.6 → 0.62`. */
export function describeAction(a: GitopsAction): string {
  switch (a.kind) {
    case 'create':
      return `create ${a.model}${a.state === 'paused' ? ' (then pause)' : ''}`;
    case 'update':
      return `update ${a.model}: ${a.changes.map((c) => `${c.path}: ${show(c.from)} → ${show(c.to)}`).join('; ')}`;
    case 'unmanaged':
      return a.retire ? `retire ${a.model} (not in git; prune)` : `unmanaged ${a.model}: runs but is not in git (prune: false keeps it)`;
    default:
      return `${a.kind} ${a.model}`;
  }
}

function show(v: unknown): string {
  return v === undefined ? '(unset)' : JSON.stringify(v);
}
