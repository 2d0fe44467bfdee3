// A worker as the server's background workers start: it lowers its own thread, then reports its nice value.
import { getPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { lowerThisThread } from '../../server/src/thread-priority.ts';

lowerThisThread();
parentPort!.postMessage(getPriority(0));
