// Registers a Temporal namespace when it is missing (idempotent) and waits until the frontend
// serves it: a new namespace reaches the frontend's cache only seconds after registration. For
// dev servers, tests and benchmarks; on a real cluster namespaces are an operator's business.
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';

/** gRPC status ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;

export async function ensureNamespace(
  connection: Pick<Connection, 'workflowService'>,
  namespace: string,
  options: { retention?: string; waitMs?: number } = {},
): Promise<void> {
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs(options.retention ?? '1 day'),
    });
  } catch (err) {
    if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
  }
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  for (;;) {
    try {
      await connection.workflowService.listOpenWorkflowExecutions({ namespace, maximumPageSize: 1 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
