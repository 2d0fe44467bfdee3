import { matchMaker } from '@colyseus/core';

/**
 * Colyseus' bookkeeping of live processes in presence, which the dead-process
 * sweep of LiveRooms relies on (@colyseus/core 0.18.17):
 * - MatchMaker.ts `setup` subscribes every live process to `getProcessChannel()`
 *   = `p:<processId>`; a killed process's Redis connection closes, and its channel with it;
 * - Stats.ts `getRoomCountKey()` = `roomcount`: a hash field per process that
 *   was live (`excludeProcess` drops it, so it is never picked to create rooms);
 * - MatchMaker.ts `getProcessSweptKey()` = `swept:<processId>`, kept for
 *   `SWEPT_RECEIPT_TTL` (utils/Utils.ts, 600 s): a process finding it lists its rooms again.
 * tests/unit/colyseus-fence.test.ts and tests/integration/crash-recovery-redis.test.ts check them.
 */
export const PROCESS_CHANNEL_PREFIX = 'p:';
export const ROOM_COUNT_KEY = 'roomcount';
export const SWEPT_KEY_PREFIX = 'swept:';
export const SWEPT_RECEIPT_TTL_SECONDS = 600;

/** Is this Colyseus process alive? (Without Redis, presence is this process alone.) */
export async function isProcessAlive(processId: string): Promise<boolean> {
  if (processId === matchMaker.processId) return true;
  return (await matchMaker.presence.channels(PROCESS_CHANNEL_PREFIX + processId)).length > 0;
}

/** Ids of every live process, this one included. */
export async function aliveProcesses(): Promise<Set<string>> {
  const channels = await matchMaker.presence.channels(`${PROCESS_CHANNEL_PREFIX}*`);
  return new Set([matchMaker.processId, ...channels.map((c) => c.slice(PROCESS_CHANNEL_PREFIX.length))]);
}

/** Ids of every process Colyseus counts as hosting rooms, alive or not. */
export async function countedProcesses(): Promise<string[]> {
  return Object.keys((await matchMaker.presence.hgetall(ROOM_COUNT_KEY)) ?? {});
}

/**
 * What MatchMaker.ts `healthCheckProcessId` does to a process that fails its
 * ping, without its 2 s wait: never pick it to create rooms, drop its listings,
 * and leave it the receipt that makes it list its rooms again should it be alive after all.
 */
export async function sweepProcess(processId: string): Promise<void> {
  await matchMaker.stats.excludeProcess(processId);
  await matchMaker.driver.cleanup?.(processId);
  await matchMaker.presence.setex(SWEPT_KEY_PREFIX + processId, '1', SWEPT_RECEIPT_TTL_SECONDS);
}
