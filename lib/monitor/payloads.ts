// The drift monitor's signal payloads, validated at the workflow boundary: a payload from the
// `temporal` CLI, a script or the HTTP events route may be missing or junk, and a handler that
// trusted it would fail every workflow task. Pure zod, safe in workflow code.
import { z } from 'zod';
import { monitorSpecSchema } from '../model-spec/monitor-spec.ts';
import { formatZodIssues } from '../zod-issues.ts';
import type { MonitorSpec, RefusedPayload } from '../contracts/drift-monitor.ts';

/** `checkNow` takes nothing, or `{ reason }`. */
export const checkNowPayloadSchema = z.object({ reason: z.string().max(500).optional() }).optional();

/** `updateMonitorSettings`: the spec's whole `monitor` section (defaults filled in). */
export const updateMonitorSettingsPayloadSchema = z.object({ monitor: monitorSpecSchema });

/** Refused payloads kept in the status (the total is counted on). */
export const MAX_REFUSED_KEPT = 10;

export type PayloadCheck<T> = { ok: true; value: T } | { ok: false; error: string };

function check<S extends z.ZodType>(schema: S, payload: unknown): PayloadCheck<z.output<S>> {
  const result = schema.safeParse(payload);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: formatZodIssues(result.error.issues).trim().slice(0, 500) };
}

export function parseCheckNow(payload: unknown): PayloadCheck<{ reason?: string } | undefined> {
  return check(checkNowPayloadSchema, payload);
}

export function parseMonitorSettings(payload: unknown): PayloadCheck<{ monitor: MonitorSpec }> {
  return check(updateMonitorSettingsPayloadSchema, payload);
}

/** The refused list after one more refusal: newest last, at most MAX_REFUSED_KEPT. */
export function recordRefused(list: readonly RefusedPayload[], entry: RefusedPayload): RefusedPayload[] {
  return [...list, entry].slice(-MAX_REFUSED_KEPT);
}
