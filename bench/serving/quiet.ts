// CPU quieting: how much CPU other processes on this shared machine used (from /proc), and waiting
// for them to go quiet after a noisy run, within QUIET_BUDGET_MS in all.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../../lib/time/sleep.ts';
import { NOISY_CPU, QUIET_BUDGET_MS, QUIET_PROBE_MS } from './method.ts';

let lastForeignCpu = 0;
let quietBudgetMs = QUIET_BUDGET_MS;

/** Other processes' CPU (cores) during the last run: above NOISY_CPU, awaitQuiet waits. */
export function noteForeignCpu(cores: number): void {
  lastForeignCpu = cores;
}

/** Milliseconds spent waiting for quiet so far. */
export function quietWaitMs(): number {
  return QUIET_BUDGET_MS - quietBudgetMs;
}

/** After a noisy run, waits until other processes leave the machine alone (or the budget for
 * waiting is spent). */
export async function awaitQuiet(): Promise<void> {
  while (lastForeignCpu > NOISY_CPU && quietBudgetMs > 0) {
    const a = cpuSeconds();
    const t0 = performance.now();
    await sleep(QUIET_PROBE_MS);
    const b = cpuSeconds();
    const elapsedMs = performance.now() - t0;
    lastForeignCpu = (b.all - a.all - (b.ours - a.ours)) / (elapsedMs / 1000);
    quietBudgetMs -= elapsedMs;
  }
}

const TICK_S = 1 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100);
export const serverPids = new Set<number>();

/** CPU seconds used so far by the whole machine, and by us: this process, the servers and
 * PostgreSQL (whoever's queries it runs). Zero where /proc is missing. */
export function cpuSeconds(): { all: number; ours: number } {
  const ticks = (pid: number | string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpu: Number(fields[11]) + Number(fields[12]) };
  };
  try {
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .split(/\s+/)
      .slice(1)
      .map(Number);
    let ours = 0;
    for (const pid of serverPids) ours += ticks(pid).cpu;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const t = ticks(pid);
        if (t.comm === 'postgres') ours += t.cpu;
      } catch {
        // exited meanwhile
      }
    }
    const self = process.cpuUsage();
    return { all: (user + nice + system + irq + softirq + steal) * TICK_S, ours: ours * TICK_S + (self.user + self.system) / 1e6 };
  } catch {
    return { all: 0, ours: 0 };
  }
}
