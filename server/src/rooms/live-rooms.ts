import type { FhirResource } from '../../../shared/src/fhir.ts';
import type { ParticipantDto } from '../../../shared/src/http.ts';
import type { RoomRecord } from '../db/rooms.repo.ts';

/** What the HTTP side may ask of a live room in this process. */
export interface LiveRoomHandle {
  /** Room record changed (title, kind, participants): update state, drop the uninvited. */
  applyRoomChanges(record: RoomRecord): void;
  /** Disconnect everyone and dispose (the room was closed). */
  close(): Promise<void>;
  /** Persist pending scene changes. */
  flush(): Promise<void>;
  /** The case this room shows, if any. */
  readonly caseId: string | null;
  /** A participant's role or scopes changed: what they may do and see follows at once. */
  updateParticipant(p: ParticipantDto): void;
  /** A participant was removed: disconnect them. */
  removeParticipant(userId: string): void;
  /** A new resource (live vitals) arrived for the case. */
  addCaseResource(resource: FhirResource): void;
  /** The case was deleted: withdraw it from every client. */
  caseDeleted(): void;
  /** LiveKit reported a change in someone's media session (verified webhook). */
  voiceEvent(e: VoiceEvent): void;
  /** Who is in, for the admin console. No patient data. */
  snapshot(): LiveSnapshot;
  /** Moderation from outside the room (admin console): same rules and audit as in-room. */
  moderate(actor: { userId: string; name: string }, action: 'mute' | 'unmute' | 'kick', userId: string): Promise<{ ok: boolean; code?: string }>;
}

export interface LiveSnapshot {
  voice: string;
  presenter: string;
  participants: { sessionId: string; userId: string; name: string; role: string; connected: boolean; voiceConnected: boolean; publishing: boolean; muted: boolean }[];
}

export interface VoiceEvent {
  kind: 'joined' | 'left' | 'published' | 'unpublished' | 'muted' | 'unmuted';
  userId: string;
  /** For track events: is it the microphone? */
  microphone: boolean;
  muted?: boolean;
}

/** Live room instances of this process, by Consilium room id. */
export class LiveRooms {
  private readonly rooms = new Map<string, LiveRoomHandle>();
  /** Final flushes of disposed instances, so a re-opened room loads after them. */
  private readonly disposals = new Map<string, Promise<void>>();

  register(roomId: string, handle: LiveRoomHandle): void {
    this.rooms.set(roomId, handle);
  }

  unregister(roomId: string, handle: LiveRoomHandle, finalFlush: Promise<void>): void {
    if (this.rooms.get(roomId) === handle) this.rooms.delete(roomId);
    const done = finalFlush.finally(() => {
      if (this.disposals.get(roomId) === done) this.disposals.delete(roomId);
    });
    this.disposals.set(roomId, done);
  }

  /** Resolves when no disposed instance of this room is still writing. */
  async settled(roomId: string): Promise<void> {
    await this.disposals.get(roomId);
  }

  get(roomId: string): LiveRoomHandle | undefined {
    return this.rooms.get(roomId);
  }

  has(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  count(): number {
    return this.rooms.size;
  }

  participantCount(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.snapshot().participants.filter((p) => p.connected).length;
    return n;
  }

  showingCase(caseId: string): LiveRoomHandle[] {
    return [...this.rooms.values()].filter((r) => r.caseId === caseId);
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.rooms.values()].map((r) => r.flush()));
  }
}
