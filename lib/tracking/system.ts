// Where a training run ran: captured by the training activity on the worker that trained (the
// evaluation runs elsewhere, often on another host), and carried in the training result.
import { execFile } from 'node:child_process';
import { arch, cpus, hostname, platform, totalmem } from 'node:os';
import type { RunSystemInfo } from './types.ts';

/** GPU names from `nvidia-smi`, or none when it is missing, slow or fails (most CPU workers). */
export function visibleGpus(timeoutMs = 2000): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: timeoutMs }, (err, stdout) => {
      if (err) return resolve([]);
      resolve(
        stdout
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      );
    });
  });
}

/** The worker's identity and hardware, and the backend the run trained on. Never throws. */
export async function captureSystemInfo(identity: string, backend: string, gpus = visibleGpus): Promise<RunSystemInfo> {
  const cores = cpus();
  const seen = await gpus().catch(() => []);
  return {
    identity,
    hostname: hostname(),
    platform: platform(),
    arch: arch(),
    node: process.version,
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(totalmem() / 2 ** 20),
    backend,
    ...(seen.length > 0 ? { gpus: seen } : {}),
  };
}
