// The GitOps reconciler's contract (`gitopsReconciler`, id `gitops/<env>`): its input, `status`
// Query, `sync` signal, and the inputs/outputs of the activities it calls. docs/gitops.md.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import type { GitopsAction, GitopsActionKind, PlannedModel } from '../gitops/plan.ts';
import type { ObservedLifecycle } from '../gitops/plan.ts';
import { workflowRef } from './workflow-ref.ts';

export interface GitopsSource {
  /** Any URL `git` can fetch: https://, ssh://, file:// or a path. */
  repo: string;
  /** @default 'main' */
  ref: string;
  /** The folder holding flywheel.yaml, relative to the repository root. @default '' */
  path: string;
}

export interface GitopsReconcilerInput extends GitopsSource {
  env: string;
  /** Between two fetches when no `sync` comes. @default 60000 */
  intervalMs: number;
  /** Loops before the run continues as new (also when Temporal suggests it). @default 500 */
  maxLoops?: number;
  /** Carried across continue-as-new. */
  carry?: GitopsCarry;
}

export interface GitopsActionRecord {
  at: string;
  commit: string;
  kind: GitopsActionKind;
  model: string;
  outcome: 'done' | 'unchanged' | 'refused' | 'failed' | 'reported';
  detail: string;
}

export interface GitopsCarry {
  appliedCommit: string | null;
  appliedAt: string | null;
  history: GitopsActionRecord[];
}

export interface GitopsStatus extends GitopsSource {
  env: string;
  /** The commit whose desired state was last applied in full (all actions done). */
  appliedCommit: string | null;
  appliedAt: string | null;
  /** The newest commit fetched (it may be bad: see lastError). */
  fetchedCommit: string | null;
  lastError: string | null;
  /** What differs between git and what runs, after the last pass (one line each). */
  drift: string[];
  /** The newest actions, oldest first (at most MAX_GITOPS_HISTORY). */
  history: GitopsActionRecord[];
  loops: number;
  lastCheckAt: string | null;
}

export const MAX_GITOPS_HISTORY = 50;

/** The `fetchDesiredState` activity: the desired state of `env` at the head of `ref`. */
export interface FetchDesiredInput extends GitopsSource {
  env: string;
}
export interface FetchDesiredResult {
  commit: string;
  /** Absent when the commit's desired state does not load (errors say why). */
  desired?: { models: PlannedModel[]; prune: boolean };
  errors: string[];
}

export interface ApplyGitopsActionInput {
  action: GitopsAction;
  commit: string;
  env: string;
}
export interface ApplyGitopsActionResult {
  outcome: GitopsActionRecord['outcome'];
  detail: string;
}

export type { ObservedLifecycle };

/** Payload-less or `{ reason }`; anything else is refused (logged) rather than failing the run. */
export const gitopsSyncSchema = z.union([z.undefined(), z.null(), z.strictObject({ reason: z.string().max(500).optional() })]);
export type GitopsSyncSignal = { reason?: string } | undefined;

export const gitopsSyncSignal = defineSignal<[GitopsSyncSignal?]>('sync');
export const gitopsStatusQuery = defineQuery<GitopsStatus>('status');

export type GitopsReconcilerWorkflow = (input: GitopsReconcilerInput) => Promise<void>;
export const gitopsReconcilerWorkflow = workflowRef<GitopsReconcilerWorkflow>('gitopsReconciler');
