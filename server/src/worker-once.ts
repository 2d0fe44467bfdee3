import { Worker } from 'node:worker_threads';
import { workerEnv } from './thread-priority.ts';

/**
 * Run one job on a short-lived worker thread with its own heap cap and time limit, so a huge or
 * hostile input costs that thread, not the event loop. At most `concurrency` jobs per pool run at
 * once; more wait. The worker posts one message, its answer; a crash, its heap cap or the time limit
 * rejects (the error carries no input: callers log it or map it to a refusal). Workers run below
 * the event loop's CPU priority (thread-priority.ts).
 */
export class WorkerPool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly url: URL,
    private readonly opts: { concurrency: number; heapMb: number; timeoutMs?: number },
  ) {}

  async run<T>(workerData: unknown, transferList: ArrayBuffer[] = []): Promise<T> {
    if (this.running >= this.opts.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await this.once<T>(workerData, transferList);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private once<T>(workerData: unknown, transferList: ArrayBuffer[]): Promise<T> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(this.url, { workerData, transferList, env: workerEnv(), resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb }, stdout: false, stderr: false });
      let settled = false;
      const timer = this.opts.timeoutMs
        ? setTimeout(() => {
            if (!settled) reject(new WorkerTimeout(this.opts.timeoutMs!));
            settled = true;
            void worker.terminate();
          }, this.opts.timeoutMs)
        : null;
      const settle = () => {
        settled = true;
        if (timer) clearTimeout(timer);
      };
      worker.once('message', (m: T) => {
        if (!settled) resolve(m);
        settle();
        void worker.terminate();
      });
      worker.once('error', (err) => {
        if (!settled) reject(err);
        settle();
      });
      worker.once('exit', (code) => {
        if (!settled) reject(new Error(`worker exited with code ${code} before answering`));
        settle();
      });
    });
  }
}

export class WorkerTimeout extends Error {
  constructor(ms: number) {
    super(`worker took longer than ${ms} ms`);
    this.name = 'WorkerTimeout';
  }
}
