// The replay's delayed labels: queued in the order their predictions were answered (so in order
// of due time), and posted once due, each taking an in-flight slot like a prediction does.
import { sleep } from '../time/sleep.ts';
import { type SlotLimiter, Waker } from './limiter.ts';

export interface PendingLabel {
  dueAt: number;
  requestId: string;
  instance: number;
  /** Binary 0/1, a regression value or a multiclass class name. */
  label: number | string;
}

/** Labels waiting for their delay, oldest first; `close()` says no more will come. */
export class LabelQueue {
  readonly #items: PendingLabel[] = [];
  #head = 0;
  #closed = false;
  readonly #arrived = new Waker();

  /** Labels waiting for their delay to pass. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(label: PendingLabel): void {
    this.#items.push(label);
  }

  /** Wakes the poster after a prediction's labels were pushed. */
  notify(): void {
    this.#arrived.wake();
  }

  /** No more labels will be pushed (sending is over). */
  close(): void {
    this.#closed = true;
    this.#arrived.wake();
  }

  /**
   * Posts each label once it is due, at most as many at once as `limiter` allows, until the queue
   * is closed and empty or `abort` fires; resolves when every started post settled, with the
   * number of labels never posted (abandoned).
   */
  async postWhenDue(post: (label: PendingLabel) => Promise<void>, limiter: SlotLimiter, abort: AbortSignal): Promise<number> {
    const posts = new Set<Promise<void>>();
    while (!abort.aborted) {
      const next = this.#items[this.#head];
      if (!next) {
        if (this.#closed) break;
        await this.#arrived.wait(abort);
        continue;
      }
      const wait = next.dueAt - performance.now();
      if (wait > 0) {
        // Later labels are due later still, so nothing new can need an earlier wake-up.
        await sleep(wait, abort);
        continue;
      }
      if (!(await limiter.acquire(abort))) break;
      this.#shift();
      const posting = post(next).finally(() => {
        limiter.release();
        posts.delete(posting);
      });
      posts.add(posting);
    }
    await Promise.allSettled(posts);
    const abandoned = this.size;
    this.#items.length = this.#head = 0;
    return abandoned;
  }

  #shift(): void {
    this.#head++;
    // Drop the posted prefix now and then rather than shifting the array on every post.
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
