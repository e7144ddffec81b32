// Bundled in place of `@temporalio/workflow` by the replay test only (tests/unit/workflow-replay.test.ts):
// the same module, except that `patched()` also reports each decision to a sink that runs during
// replay, so the test sees which branch of each patch every recorded history actually took.
import { patched as sdkPatched, proxySinks, type Sinks } from '@temporalio/workflow/lib/index.js';

export * from '@temporalio/workflow/lib/index.js';

export interface PatchProbeSinks extends Sinks {
  patchProbe: { decided(patchId: string, active: boolean): void };
}

const { patchProbe } = proxySinks<PatchProbeSinks>();

export function patched(patchId: string): boolean {
  const active = sdkPatched(patchId);
  patchProbe.decided(patchId, active);
  return active;
}
