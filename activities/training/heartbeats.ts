// Heartbeats of the activities that run other people's code, long I/O or long scoring (training,
// evaluation): each event's as it comes, and the last one again on a timer, so a live but quiet
// attempt is never taken for dead.
import { Context } from '@temporalio/activity';
import type { TrainHeartbeat } from '../../lib/contracts/train-model.ts';

/**
 * Heartbeats for one attempt: each event's as it comes, and the last one again every
 * `keepAliveMs`. The heartbeat timeout is there to notice a dead worker, and a live one may be
 * quiet for minutes — encoding large splits, or a command whose epoch prints nothing — which
 * would otherwise time the attempt out and start a second copy of the run beside the first.
 */
function heartbeats<D = TrainHeartbeat>(ctx: Context, everyMs: number) {
  let last = ctx.info.heartbeatDetails as D | undefined;
  const timer = setInterval(() => ctx.heartbeat(last), everyMs);
  return {
    beat(details: D) {
      last = details;
      ctx.heartbeat(details);
    },
    stop: () => clearInterval(timer),
  };
}

export type Heartbeats<D = TrainHeartbeat> = ReturnType<typeof heartbeats<D>>;

/** Runs `work` with `heartbeats` going (every `everyMs`), and stops them however it ends. */
export async function withHeartbeats<T, D = TrainHeartbeat>(
  everyMs: number | undefined,
  work: (beats: Heartbeats<D>) => Promise<T>,
): Promise<T> {
  const beats = heartbeats<D>(Context.current(), everyMs ?? 5000);
  try {
    return await work(beats);
  } finally {
    beats.stop();
  }
}
