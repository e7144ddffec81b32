// The Temporal SDK's own metrics (Core: poller counts, slots, task latencies, failures) reach
// /metrics through Core's Prometheus exporter, bound on a loopback port only this process scrapes
// and merges with Flywheel's registry. One scrape target per pod, one port in the manifests.
import { createServer } from 'node:net';

/** A loopback port free now, for Core's exporter (Core binds it itself and reports no address,
 * so port 0 would leave us unable to read it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Core's exposition text from `bindAddress`; a comment line instead when it cannot be read, so
 * a scrape still gets Flywheel's metrics. */
export async function scrapeSdkMetrics(bindAddress: string, timeoutMs = 2000): Promise<string> {
  try {
    const res = await fetch(`http://${bindAddress}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
    const text = await res.text();
    return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  } catch (err) {
    return `# Temporal SDK metrics unavailable: ${(err as Error).message}\n`;
  }
}
