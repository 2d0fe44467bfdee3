import { getPriority, setPriority } from 'node:os';

/**
 * Background threads (case imports, indexing and unzipping images) run at a lower CPU priority
 * than the event loop the rooms are served from: on a machine with few cores, a worker parsing a
 * 10 MB record otherwise takes the CPU the loop needs to deliver poses on time (issue 20: the
 * loop's worst delay during an import was mostly time it waited for a CPU). On Linux a thread's
 * nice value is its own, so a worker lowering its own leaves the rest of the process alone.
 * WORKER_NICE (config) sets it for the process; worker-once.ts hands it to each worker in its
 * environment and the worker applies it first thing.
 */
const ENV = 'CONSILIUM_WORKER_NICE';
let nice = 0;

export function setWorkerNice(value: number): void {
  nice = value;
}

/** The environment a background worker starts with. */
export function workerEnv(): NodeJS.ProcessEnv {
  return nice > 0 ? { ...process.env, [ENV]: String(nice) } : process.env;
}

/** Called at the top of a worker file. 0, no permission or no support: the priority stays as it is. */
export function lowerThisThread(): void {
  const value = Number(process.env[ENV] ?? 0);
  if (!Number.isInteger(value) || value <= 0) return;
  try {
    setPriority(0, Math.min(getPriority(0) + value, 19));
  } catch {
    // The work still runs, at the loop's priority.
  }
}
