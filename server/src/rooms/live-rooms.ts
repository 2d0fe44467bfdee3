import { matchMaker } from '@colyseus/core';
import { CLINIC_ROOM } from '../../../shared/src/protocol.ts';
import type { LeaseHolder, RoomRecord } from '../db/rooms.repo.ts';
import type { LiveRoomRecord } from '../domain/storage.ts';
import type { Clinic, ClinicListing, LiveSnapshot, VoiceEvent } from './clinic.ts';
import { AppError } from '../errors.ts';
import { aliveProcesses, countedProcesses, isProcessAlive, sweepProcess } from '../colyseus/presence.ts';

/** Message prefix of the refusal onCreate gives when another instance holds the room's lease. */
export const LIVE_ELSEWHERE = 'LIVE_ELSEWHERE';

/** What a live room needs to know about its Consilium room (plain data: it may cross processes); declared with the engine's storage. */
export type { LiveRoomRecord };

/** Plain-data view of a room record for a live room. */
export const liveRecord = (r: RoomRecord): LiveRoomRecord => ({ id: r.id, title: r.title, kind: r.kind, caseId: r.caseId, participants: r.participants, scopeCeiling: r.scopeCeiling, observerVideo: r.observerVideo, recordingAllowed: r.recordingAllowed, recordingId: r.recordingId });

/**
 * The engine's acts the HTTP side may ask of a live room, in this process or
 * another (through Colyseus presence). One list of names: their signatures
 * and documentation are the engine's own (`Clinic`).
 */
export const LIVE_METHODS = ['applyRoomChanges', 'updateParticipant', 'removeParticipant', 'readmit', 'addCaseResource', 'caseDeleted', 'voiceEvent', 'mediaJoined', 'snapshot', 'moderate', 'decide'] as const;
type EngineMethod = (typeof LIVE_METHODS)[number];

/** A live room as the HTTP side reaches it: the engine's acts, and closing the room (disconnect everyone and dispose). */
export type LiveRoomHandle = Pick<Clinic, EngineMethod> & { close(): Promise<void> };

/** A room instance of this process: its engine, and how to close it. */
export interface LocalRoom {
  engine: Pick<Clinic, EngineMethod | 'flush'>;
  close(): Promise<void>;
}

/** The one method of a Colyseus clinic room that other processes call (`matchMaker.remoteRoomCall`): it forwards to `LiveRooms.callLocal`. */
export const REMOTE_CALL = 'liveCall';

// (VoiceEvent, LiveSnapshot, ClinicListing: the engine's own types, declared in clinic.ts.)
export type { ClinicListing, LiveSnapshot, VoiceEvent };

type Method = keyof LiveRoomHandle;
type Listing = Awaited<ReturnType<typeof matchMaker.getRoomById>>;
type Result<M extends Method> = Awaited<ReturnType<LiveRoomHandle[M]>>;

/**
 * Finds live rooms wherever they run: the matchmaker's listings (in memory,
 * or in Redis with REDIS_URL) say which Colyseus room hosts a Consilium room
 * and its case; calls go through `matchMaker.remoteRoomCall`, which is a direct
 * call in this process and an IPC call through presence to another.
 */
export class LiveRooms {
  private readonly local = new Map<string, LocalRoom>();
  private readonly creating = new Map<string, Promise<void>>();
  /** Final flushes of disposed instances, so a re-opened room loads after them. */
  private readonly disposals = new Map<string, Promise<void>>();
  private readonly sweeping = new Map<string, Promise<void>>();

  /** `processKey`: this process's stable identity across restarts (PUBLIC_URL with Redis; 'standalone' without). */
  constructor(private readonly processKey: string = 'standalone') {}

  /** Who takes a live-instance lease for a room instance of this process. */
  leaseHolder(instanceId: string): LeaseHolder {
    return { instanceId, processKey: this.processKey, boot: matchMaker.processId };
  }

  /** Is this Colyseus process alive? (Its presence channel closes with its Redis connection: colyseus/presence.ts.) */
  isProcessAlive(processId: string): Promise<boolean> {
    return isProcessAlive(processId);
  }

  /**
   * Forget every listing of processes that are gone. Colyseus 0.18 drops a dead
   * process's listings only when a request to it times out (2 s per process) or at
   * the next process start; until then its rooms look live and calls to them fail.
   */
  async sweepDeadProcesses(): Promise<void> {
    const counted = await countedProcesses();
    const listed = (await matchMaker.query({})).map((l) => l.processId as string);
    const alive = await aliveProcesses();
    const dead = new Set([...counted, ...listed].filter((id) => id && !alive.has(id)));
    await Promise.all([...dead].map((id) => this.sweep(id)));
  }

  /** What Colyseus' own health check does to a process that fails it, without its 2 s wait. */
  private sweep(processId: string): Promise<void> {
    let pending = this.sweeping.get(processId);
    if (!pending) {
      pending = sweepProcess(processId).finally(() => this.sweeping.delete(processId));
      this.sweeping.set(processId, pending);
    }
    return pending;
  }

  /** The room's listing when the process holding it is alive; a dead process's listing is swept. */
  private async liveListing(roomId: string): Promise<Listing | undefined> {
    const listing = await matchMaker.getRoomById(roomId);
    if (!listing) return undefined;
    if (await isProcessAlive(listing.processId)) return listing;
    await this.sweep(listing.processId);
    return undefined;
  }

  /** Listings of clinic rooms, in any live process; dead processes' listings are swept, not returned. */
  private async listings(): Promise<{ roomId: string; meta: ClinicListing }[]> {
    const all = await matchMaker.query({ name: CLINIC_ROOM });
    const alive = all.length > 0 ? await aliveProcesses() : new Set<string>();
    const dead = new Set(all.map((l) => l.processId as string).filter((id) => !alive.has(id)));
    if (dead.size > 0) await Promise.all([...dead].map((id) => this.sweep(id)));
    return all.flatMap((l) => {
      const meta = l.metadata as Partial<ClinicListing> | undefined;
      return meta?.room && !dead.has(l.processId) ? [{ roomId: l.roomId, meta: { room: meta.room, caseId: meta.caseId ?? null } }] : [];
    });
  }

  register(roomId: string, handle: LocalRoom): void {
    const existing = this.local.get(roomId);
    if (existing && existing !== handle) throw new Error(`room ${roomId} already has a live instance in this process`);
    this.local.set(roomId, handle);
  }

  unregister(roomId: string, handle: LocalRoom, finalFlush: Promise<void>): void {
    if (this.local.get(roomId) === handle) this.local.delete(roomId);
    const done = finalFlush.finally(() => {
      if (this.disposals.get(roomId) === done) this.disposals.delete(roomId);
    });
    this.disposals.set(roomId, done);
  }

  /** Resolves when no disposed instance of this room (in this process) is still writing. */
  async settled(roomId: string): Promise<void> {
    await this.disposals.get(roomId);
  }

  /**
   * Make sure the room is live somewhere: create its one instance when it is
   * live nowhere. Only the server creates instances; concurrent calls in this
   * process share one creation, and the instance's database lease (onCreate)
   * turns away a creation racing in another process, whose listing we then wait for.
   */
  async ensure(roomId: string): Promise<void> {
    if (await this.liveListing(roomId)) return;
    let pending = this.creating.get(roomId);
    if (!pending) {
      pending = this.create(roomId).finally(() => this.creating.delete(roomId));
      this.creating.set(roomId, pending);
    }
    await pending;
  }

  private async create(roomId: string): Promise<void> {
    try {
      await matchMaker.createRoom(CLINIC_ROOM, { room: roomId });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith(LIVE_ELSEWHERE)) throw err;
      for (let i = 0; i < 50; i++) {
        if (await this.liveListing(roomId)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new AppError('UNAVAILABLE', 'the room is starting in another process; try again');
    }
  }

  /** Consilium ids of every live room, in any process. */
  async liveRoomIds(): Promise<Set<string>> {
    return new Set((await this.listings()).map((l) => l.meta.room));
  }

  async has(roomId: string): Promise<boolean> {
    return (await this.listings()).some((l) => l.meta.room === roomId);
  }

  /** Ask the live room to act; undefined when it is not live anywhere. */
  async call<M extends Method>(roomId: string, method: M, ...args: Parameters<LiveRoomHandle[M]>): Promise<Result<M> | undefined> {
    if (this.local.has(roomId)) return (await this.callLocal(roomId, method, args)) as Result<M>;
    const listing = await this.liveListing(roomId);
    if (!listing) return undefined;
    try {
      return (await matchMaker.remoteRoomCall(listing.roomId, REMOTE_CALL as never, [method, args])) as Result<M>;
    } catch (err) {
      // The process may have died since we looked: then the room is not live (and its listing goes).
      if (await this.liveListing(roomId)) throw err;
      return undefined;
    }
  }

  /** Carry out a call on this process's instance of the room (from `call`, or from another process through REMOTE_CALL). */
  async callLocal(roomId: string, method: string, args: unknown[]): Promise<unknown> {
    const room = this.local.get(roomId);
    if (!room) return undefined;
    if (method === 'close') return room.close();
    if (!(LIVE_METHODS as readonly string[]).includes(method)) throw new Error(`not a live-room method: ${method.slice(0, 40)}`);
    return (room.engine[method as EngineMethod] as (...a: unknown[]) => unknown).apply(room.engine, args);
  }

  /** Ask every live room showing this case; returns how many there were. */
  async callShowingCase<M extends Method>(caseId: string, method: M, ...args: Parameters<LiveRoomHandle[M]>): Promise<number> {
    const rooms = (await this.listings()).filter((l) => l.meta.caseId === caseId);
    await Promise.all(rooms.map((l) => this.call(l.meta.room, method, ...args)));
    return rooms.length;
  }

  /** This process only (metrics, shutdown). */
  count(): number {
    return this.local.size;
  }

  participantCount(): number {
    let n = 0;
    for (const r of this.local.values()) n += r.engine.snapshot().participants.filter((p) => p.connected).length;
    return n;
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.local.values()].map((r) => r.engine.flush()));
  }
}
