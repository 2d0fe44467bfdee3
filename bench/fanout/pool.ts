/** The client worker processes of the fan-out benchmark, driven over IPC (see worker.ts). */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { cpuMs } from '../support.ts';
import type { ClientSpec } from './clients.ts';
import type { FromWorker, ToWorker, WorkerReport } from './worker.ts';

export class WorkerPool {
  private constructor(private readonly children: ChildProcess[]) {}

  static async start(count: number): Promise<WorkerPool> {
    const script = path.join(import.meta.dirname, 'worker.ts');
    const children = Array.from({ length: count }, () => fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    return new WorkerPool(children);
  }

  get size(): number {
    return this.children.length;
  }

  /** CPU time of all workers so far, ms. */
  cpuMs(): number {
    return this.children.reduce((sum, c) => sum + cpuMs(c.pid!), 0);
  }

  private ask<T extends FromWorker['type']>(child: ChildProcess, message: ToWorker, answer: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type !== answer) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<FromWorker, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`bench worker exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(message);
    });
  }

  /** Connect each worker's share; resolves with the number of clients that failed to join and the first error. */
  async connect(shares: ClientSpec[][]): Promise<{ failed: number; error?: string }> {
    const answers = await Promise.all(this.children.map((c, i) => this.ask(c, { type: 'connect', specs: shares[i] ?? [] }, 'connected')));
    const error = answers.find((a) => a.error)?.error;
    return { failed: answers.reduce((s, a) => s + a.failed, 0), ...(error ? { error } : {}) };
  }

  async start(): Promise<void> {
    await Promise.all(this.children.map((c) => this.ask(c, { type: 'start' }, 'started')));
  }

  async record(): Promise<void> {
    await Promise.all(this.children.map((c) => this.ask(c, { type: 'record' }, 'recording')));
  }

  async collect(): Promise<WorkerReport[]> {
    return (await Promise.all(this.children.map((c) => this.ask(c, { type: 'collect' }, 'report')))).map((a) => a.report);
  }

  async stopClients(): Promise<void> {
    await Promise.all(this.children.map((c) => this.ask(c, { type: 'stop' }, 'stopped')));
  }

  close(): void {
    for (const c of this.children) c.disconnect();
  }
}
