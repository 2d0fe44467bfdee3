import { matchMaker } from '@colyseus/core';
import type { ErrorCode } from '../../../shared/src/errors.ts';
import type { FhirResource } from '../../../shared/src/fhir.ts';
import type { ParticipantDto } from '../../../shared/src/http.ts';
import { CLINIC_ROOM } from '../../../shared/src/protocol.ts';
import type { Principal } from '../auth/policy.ts';
import type { RoomRecord } from '../db/rooms.repo.ts';
import { AppError } from '../errors.ts';

/** Message prefix of the refusal onCreate gives when another instance holds the room's lease. */
export const LIVE_ELSEWHERE = 'LIVE_ELSEWHERE';

/** What a live room needs to know about its Consilium room (plain data: it may cross processes). */
export type LiveRoomRecord = Pick<RoomRecord, 'id' | 'title' | 'kind' | 'caseId' | 'participants' | 'scopeCeiling' | 'observerVideo'>;

/** Plain-data view of a room record for a live room. */
export const liveRecord = (r: RoomRecord): LiveRoomRecord => ({ id: r.id, title: r.title, kind: r.kind, caseId: r.caseId, participants: r.participants, scopeCeiling: r.scopeCeiling, observerVideo: r.observerVideo });

/** What the HTTP side may ask of a live room, in this process or another (through Colyseus presence). */
export interface LiveRoomHandle {
  /** Room record changed (title, kind, case, ceiling, participants): every seat follows at once. */
  applyRoomChanges(record: LiveRoomRecord): Promise<void>;
  /** Disconnect everyone and dispose (the room was closed). */
  close(): Promise<void>;
  /** A participant's role or scopes changed: what they may do and see follows at once, connected or not. */
  updateParticipant(p: ParticipantDto): Promise<void>;
  /** A participant was removed: end every seat of theirs. */
  removeParticipant(userId: string): Promise<void>;
  /** A kicked user was re-admitted. */
  readmit(userId: string): void;
  /** A new resource (live vitals) arrived for the case. */
  addCaseResource(resource: FhirResource): Promise<void>;
  /** The case was deleted: withdraw it from every client. */
  caseDeleted(): Promise<void>;
  /** LiveKit reported a change in someone's media session (verified webhook). */
  voiceEvent(e: VoiceEvent): void;
  /** Someone joined the room's LiveKit voice or video room (verified webhook): whoever may not be there now is taken out. Returns whether they may. */
  mediaJoined(userId: string, media: 'voice' | 'video'): boolean;
  /** Who is in, for the admin console. No patient data. */
  snapshot(): LiveSnapshot;
  /** Moderation from the console, already decided by the policy (and a kick already stored): carry it out live. */
  moderate(by: string, action: 'mute' | 'unmute' | 'kick', userId: string, until: number | null): Promise<{ ok: boolean; code?: ErrorCode }>;
  /** A break-glass decision from the console. */
  decide(principal: Principal, requestId: string, decision: 'approve' | 'deny'): Promise<{ ok: boolean; code?: ErrorCode }>;
}

/** Local-only duties of a room instance in this process. */
export interface LocalRoom extends LiveRoomHandle {
  /** Persist pending scene changes. */
  flush(): Promise<void>;
}

export interface VoiceEvent {
  kind: 'joined' | 'left' | 'published' | 'unpublished' | 'muted' | 'unmuted';
  userId: string;
  /** For track events: is it the microphone? */
  microphone: boolean;
  muted?: boolean;
}

export interface LiveSnapshot {
  voice: string;
  presenter: string;
  participants: { sessionId: string; userId: string; name: string; role: string; connected: boolean; voiceConnected: boolean; publishing: boolean; muted: boolean }[];
}

/** Listing metadata every clinic room publishes, so any process can find it. */
export interface ClinicListing {
  room: string;
  caseId: string | null;
}

type Method = keyof LiveRoomHandle;
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
    if (await matchMaker.getRoomById(roomId)) return;
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
        if (await matchMaker.getRoomById(roomId)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new AppError('UNAVAILABLE', 'the room is starting in another process; try again');
    }
  }

  /** Consilium ids of every live room, in any process. */
  async liveRoomIds(): Promise<Set<string>> {
    return new Set((await listings()).map((l) => l.meta.room));
  }

  async has(roomId: string): Promise<boolean> {
    return (await listings()).some((l) => l.meta.room === roomId);
  }

  /** Ask the live room to act; undefined when it is not live anywhere. */
  async call<M extends Method>(roomId: string, method: M, ...args: Parameters<LiveRoomHandle[M]>): Promise<Result<M> | undefined> {
    const local = this.local.get(roomId);
    if (local) return (await (local[method] as (...a: unknown[]) => unknown).apply(local, args)) as Result<M>;
    const listing = (await listings()).find((l) => l.meta.room === roomId);
    if (!listing) return undefined;
    return (await matchMaker.remoteRoomCall(listing.roomId, method as never, args)) as Result<M>;
  }

  /** Ask every live room showing this case; returns how many there were. */
  async callShowingCase<M extends Method>(caseId: string, method: M, ...args: Parameters<LiveRoomHandle[M]>): Promise<number> {
    const rooms = (await listings()).filter((l) => l.meta.caseId === caseId);
    await Promise.all(rooms.map((l) => this.call(l.meta.room, method, ...args)));
    return rooms.length;
  }

  /** This process only (metrics, shutdown). */
  count(): number {
    return this.local.size;
  }

  participantCount(): number {
    let n = 0;
    for (const r of this.local.values()) n += r.snapshot().participants.filter((p) => p.connected).length;
    return n;
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.local.values()].map((r) => r.flush()));
  }
}

async function listings(): Promise<{ roomId: string; meta: ClinicListing }[]> {
  const all = await matchMaker.query({ name: CLINIC_ROOM });
  return all.flatMap((l) => {
    const meta = l.metadata as Partial<ClinicListing> | undefined;
    return meta?.room ? [{ roomId: l.roomId, meta: { room: meta.room, caseId: meta.caseId ?? null } }] : [];
  });
}
