import type { StateView } from '@colyseus/schema';
import type { FhirResource } from '../../../shared/src/fhir.ts';
import type { ParticipantDto } from '../../../shared/src/http.ts';
import { CloseCodes, ErrorCodes, type ErrorCode } from '../../../shared/src/errors.ts';
import { PROTOCOL_VERSION, type ServerMessageName, type ServerMessages } from '../../../shared/src/protocol.ts';
import { ROOM_CAPACITY, type RoomKind, type RoomRole } from '../../../shared/src/roles.ts';
import { ClinicState, ParticipantState, ViewerState } from '../../../shared/src/state.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { authorizeConsoleDecision, mayPresent, receiveOnly, videoGrant, type Principal } from '../auth/policy.ts';
import { preparedCase } from '../domain/case-view.ts';
import { selectCaseSummary } from '../domain/case-summary.ts';
import { locksHeldBy } from '../domain/scene.ts';
import type { CaseRecord, ClinicStore, LiveRoomRecord, SceneStorage } from '../domain/storage.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { VoiceControl } from '../media/livekit.ts';
import { BreakGlassDesk, type BreakGlassSettings } from './break-glass.ts';
import { CdsDesk } from './cds-desk.ts';
import type { CdsGateway } from '../cds/gateway.ts';
import { SHARED_VIEWER } from './commands/viewer.set.ts';
import { Disclosure } from './disclosure.ts';
import { Dispatcher, type DispatchResult } from './dispatcher.ts';
import { LinkMonitor } from './link-monitor.ts';
import { Moderation } from './moderation.ts';
import { PoseRelay, type SeatReadiness } from './pose-relay.ts';
import { Roster, type Member } from './roster.ts';
import { SceneStore } from './scene-store.ts';
import { Teaching, type RecordingStore } from './teaching.ts';
import type { AudioRecorder } from '../media/egress.ts';
import { fail, ok, type Actor } from './types.ts';

export type { ClinicStore };

export interface ClinicDeps {
  store: ClinicStore;
  scene: SceneStorage;
  cases: { get(caseId: string): Promise<CaseRecord | null> };
  audit: (e: AuditEvent) => Promise<void>;
  voice: Pick<VoiceControl, 'setMicMuted' | 'remove' | 'updatePermissions' | 'updateVideo' | 'status'> | null;
  logger: Logger;
  breakGlass: BreakGlassSettings;
  now: () => number;
  schedule: (fn: () => void, ms: number) => void;
  maxSeatsPerUser: number;
  /** State patches per second for a kind of room (guidance runs faster). */
  patchHz: (kind: RoomKind) => number;
  /** Round-trip time above which a guiding link is unsafe. */
  linkLimitMs?: number;
  /** A real timer (the room clock ticks too coarsely for pose frames). */
  timer: (fn: () => void, ms: number) => void;
  /** How long poses gather before a frame goes out: shared by the process's rooms (PoseBudget). */
  poseBudget: { windowMs(): number; seatsChanged(delta: number): void };
  /** Decision support (CDS Hooks); absent or null → none. */
  cds?: Pick<CdsGateway, 'services' | 'call' | 'feedback' | 'hookUser'> | null;
  /** Recordings (PostgreSQL); absent: this room cannot record or replay. */
  recordings?: RecordingStore | null;
  /** LiveKit egress of the voice alongside a recording; absent: recordings have no audio. */
  audioRecorder?: AudioRecorder | null;
  /** Days a recording is kept (null: until deleted). */
  recordingRetentionDays?: number | null;
  /** Who is in this room changed (an in-room kick): recordings granted to it follow (recording-access.ts). */
  membershipChanged?: (roomId: string, actor: string) => Promise<void>;
}

/** What the clinic asks of whatever carries its seats (the Colyseus room, or a test). */
export interface SeatTransport {
  /** End a seat now: close its socket with `code`, or refuse its pending reconnection. */
  end(sessionId: string, code: number, reason: string): void;
  /** Publish the listing every process uses to find this room. */
  publish(listing: ClinicListing): Promise<void>;
  /** Send a message to one seat now. */
  send<K extends ServerMessageName>(sessionId: string, type: K, message: ServerMessages[K]): void;
  /** Send a message to every connected seat now (optionally all but one), bypassing the patch cycle. */
  broadcast<K extends ServerMessageName>(type: K, message: ServerMessages[K], exceptSessionId?: string): void;
  /** How often state patches go out. */
  setPatchRate(hz: number): void;
  /** Most seats the room takes (matchmaking refuses the next with ROOM_FULL). */
  setCapacity(max: number): void;
  /** Avatar pose frames (shared/src/pose-wire.ts): the transport's framing, prepended once per frame. */
  poseHeader: Uint8Array;
  /** A replay's recorded avatars (shared/src/replay-wire.ts): likewise, for REPLAY_POSE_FRAME. */
  replayPoseHeader: Uint8Array;
  /** Can this seat take a pose frame now? */
  poseReadiness(sessionId: string): SeatReadiness;
  /** Send a pose or replay pose frame (shared by every recipient; never modified) to one seat. */
  sendPoseFrame(sessionId: string, frame: Uint8Array): void;
}

/** A LiveKit webhook event about one participant, as LiveRooms delivers it. */
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

/**
 * The ticket a join presents, already verified for this room (signature,
 * expiry, room, single use) by the matchmaking gate (matchmaking.ts).
 */
export interface Admission {
  sub: string;
  name: string;
  admin: boolean;
  jti: string;
  iat: number;
}

/**
 * Close codes after which a seat is not held for reconnection: ours, Colyseus' protocol error (4002),
 * and a page that went away (1001: the tab was closed, or reloaded — a reload joins afresh), so
 * nobody lingers as "reconnecting" for the length of the hold.
 */
const FINAL_CLOSE_CODES = new Set<number>([...Object.values(CloseCodes), 4002, 1001]);

const INACTIVE_SEAT: DispatchResult = { ok: false, code: 'FORBIDDEN', message: 'this seat is not active' };

/**
 * One live Consilium room, without sockets (tldraw's TLSyncRoom to the
 * Colyseus adapter's TLSocketRoom). It owns the synced state, the roster
 * (the one record of each participant's access), Disclosure, the scene, break-
 * glass, moderation and the Dispatcher. The adapter reports seats opening,
 * dropping, coming back and leaving, and hands it every message; HTTP reaches
 * it through LiveRooms for changes made outside the room.
 */
export class Clinic {
  readonly state = new ClinicState();
  private record!: LiveRoomRecord;
  private roster!: Roster;
  private disclosure!: Disclosure;
  private scene!: SceneStore;
  private breakGlass!: BreakGlassDesk;
  private moderation!: Moderation;
  private dispatcher!: Dispatcher;
  private links!: LinkMonitor;
  private poses!: PoseRelay;
  private cds: CdsDesk | null = null;
  private teaching!: Teaching;
  private closed = false;

  private constructor(
    readonly roomId: string,
    private readonly deps: ClinicDeps,
    private readonly transport: SeatTransport,
  ) {}

  static async open(roomId: string, deps: ClinicDeps, transport: SeatTransport): Promise<Clinic> {
    const record = await deps.store.get(roomId);
    if (!record) throw new AppError('ROOM_NOT_FOUND');
    if (record.status !== 'open') throw new AppError('ROOM_CLOSED');
    const clinic = new Clinic(roomId, deps, transport);
    await clinic.init(record, await deps.store.activeKicks(roomId));
    return clinic;
  }

  private async init(record: LiveRoomRecord, kicks: { userId: string; until: Date | null }[]): Promise<void> {
    const { deps, state, roomId } = this;
    this.record = record;
    state.info.roomId = roomId;
    state.info.protocolVersion = PROTOCOL_VERSION;
    state.info.voice = deps.voice ? deps.voice.status : 'off';
    this.applyInfo(record);
    state.viewer.set(SHARED_VIEWER, new ViewerState()); // disclosed per seat like the case (disclosure.ts)

    this.breakGlass = new BreakGlassDesk({
      state,
      roomId,
      caseId: () => this.disclosure.caseId,
      patientId: () => this.disclosure.patientId,
      // A recording keeps break-glass as metadata only (who, which act, which types; never the reason).
      audit: (e) => {
        const types = e.details?.['resourceTypes'];
        this.teaching?.breakGlass(e.subject ?? e.actor, e.action, Array.isArray(types) ? types.map(String) : []);
        return deps.audit(e);
      },
      now: deps.now,
      schedule: deps.schedule,
      settings: deps.breakGlass,
      grantsChanged: () => this.reevaluate(),
      requestsChanged: () => this.disclosure.refreshAll(),
    });
    this.roster = new Roster(record, { grantsOf: (u) => this.breakGlass.grantsOf(u), now: deps.now, maxSeatsPerUser: deps.maxSeatsPerUser });
    for (const k of kicks) this.roster.kick(k.userId, k.until?.getTime() ?? Infinity);
    this.disclosure = new Disclosure({
      state,
      roomId,
      audit: deps.audit,
      accessOf: (userId) => this.roster.member(userId)?.access ?? null,
      onError: (err) => deps.logger.error({ err, roomId }, 'disclosure failed; nothing new was disclosed'),
    });
    this.scene = new SceneStore(roomId, deps.scene, state.objects, state.anchor);
    await this.scene.load();
    if (deps.cds) {
      this.cds = new CdsDesk({
        gateway: deps.cds,
        roomId,
        caseId: () => this.disclosure.caseId,
        patientId: () => this.disclosure.patientId,
        seen: (access) => this.disclosure.seenBy(access),
        accessOf: (userId) => (this.roster.isKicked(userId) ? null : (this.roster.member(userId)?.access ?? null)),
        members: () => [...this.roster.allMembers()].map((m) => ({ userId: m.userId, name: m.name })),
        seatsOf: (userId) => this.roster.seatsOf(userId).filter((s) => s.status === 'connected').map((s) => s.sessionId),
        send: (sessionId, type, message) => this.transport.send(sessionId, type, message),
        audit: deps.audit,
        logger: deps.logger,
      });
    }
    await this.showCase(record.caseId);
    this.moderation = new Moderation({
      state,
      roomId,
      roster: this.roster,
      voice: deps.voice,
      audit: deps.audit,
      store: deps.store,
      endUser: (userId, code) => this.endUser(userId, code),
      now: deps.now,
      // A training room's kick also ends its member's replays of the recordings granted to it, at once.
      kicked: async (by) => {
        await deps.membershipChanged?.(roomId, by).catch((err: unknown) => deps.logger.error({ err, roomId }, 'recordings granted to this room were not re-checked after a kick'));
      },
    });
    this.teaching = new Teaching({
      state,
      roomId,
      record: () => this.record,
      caseId: () => this.disclosure.caseId,
      store: deps.recordings ?? null,
      audio: deps.audioRecorder ?? null,
      poseOf: (sessionId) => this.poses.latest(sessionId),
      scopeOf: (userId) => this.roster.member(userId)?.access.scope ?? '',
      audit: deps.audit,
      now: deps.now,
      timer: deps.timer,
      objectAdded: (obj) => this.disclosure.objectAdded(obj),
      objectRemoved: (obj) => this.disclosure.objectRemoved(obj),
      ghosts: {
        header: this.transport.replayPoseHeader,
        seats: () => [...state.participants.values()].filter((p) => p.connected).map((p) => p.sessionId),
        ready: (sessionId) => this.transport.poseReadiness(sessionId),
        send: (sessionId, frame) => this.transport.sendPoseFrame(sessionId, frame),
      },
      onError: (err, what) => deps.logger.error({ err, roomId }, what),
      retentionDays: deps.recordingRetentionDays ?? null,
    });
    this.links = new LinkMonitor({ state, now: deps.now, send: (s, type, m) => this.transport.send(s, type, m), ...(deps.linkLimitMs ? { limitMs: deps.linkLimitMs } : {}) });
    this.dispatcher = new Dispatcher({
      state,
      scene: this.scene,
      disclosure: this.disclosure,
      breakGlass: this.breakGlass,
      moderation: this.moderation,
      roster: this.roster,
      links: this.links,
      cds: this.cds,
      teaching: this.teaching,
      audit: deps.audit,
      now: deps.now,
      relay: (type, message, except) => this.transport.broadcast(type, message, except),
      tellViewersOf: (obj, type, message) => {
        for (const member of this.roster.allMembers()) {
          if (!this.disclosure.visibleTo(member.userId, obj)) continue;
          for (const seat of this.roster.seatsOf(member.userId)) if (seat.status === 'connected') this.transport.send(seat.sessionId, type, message);
        }
      },
    });
    this.poses = new PoseRelay({
      schedule: deps.timer,
      budget: deps.poseBudget,
      header: this.transport.poseHeader,
      ready: (sessionId) => this.transport.poseReadiness(sessionId),
      send: (sessionId, frame) => this.transport.sendPoseFrame(sessionId, frame),
    });
    this.tune();
    this.probeLinks();
    await this.teaching.open();
  }

  /** Patch rate and capacity for the room's kind. */
  private tune(): void {
    const hz = this.deps.patchHz(this.record.kind);
    this.state.info.patchHz = hz;
    this.transport.setPatchRate(hz);
    this.transport.setCapacity(ROOM_CAPACITY[this.record.kind]);
  }

  /** Surgical guidance: measure every link continuously (a no-op in other rooms). */
  private probeLinks(): void {
    if (this.closed) return;
    if (this.record.kind === 'surgical-guidance') this.links.tick();
    else if (this.state.info.linkWarning) this.state.info.linkWarning = '';
    this.deps.schedule(() => this.probeLinks(), this.links.intervalMs);
  }

  /** The room is going away: stop timers of our own. */
  dispose(): void {
    this.closed = true;
    this.teaching.dispose();
    this.poses.stop();
    this.cds?.close();
  }

  get caseId(): string | null {
    return this.disclosure.caseId;
  }

  // ---- seats --------------------------------------------------------------------

  /**
   * A client presents a verified ticket (used up when its seat was reserved).
   * Admitted only into the room the ticket names, when not revoked, not
   * kicked, still invited (or an admin), and within the seat limit.
   */
  /**
   * Take a reserved seat. The ticket itself was checked once, by the
   * matchmaking gate; here is what only the live room knows when the client
   * arrives (up to Colyseus' 15 s seat reservation later): a revocation since
   * the ticket was issued, the participant list and kicks, the seats this user
   * already holds, and the capacity — Colyseus refused the seat when the room
   * was full, but the room's kind (and so its capacity) may have shrunk since.
   */
  async admit(sessionId: string, ticket: Admission): Promise<StateView> {
    if (await this.deps.store.isTicketRevoked(this.roomId, ticket.sub, ticket.iat)) throw new AppError('TICKET_REVOKED');
    if (this.state.participants.size >= ROOM_CAPACITY[this.record.kind]) throw new AppError('ROOM_FULL');
    const opened = this.roster.open(sessionId, { userId: ticket.sub, name: ticket.name, admin: ticket.admin });
    if (!opened.ok) throw new AppError(opened.code);
    // Kicked or removed while the ticket was being checked: the seat ended before it began.
    if (this.roster.seat(sessionId)?.status !== 'connected') {
      this.roster.close(sessionId);
      throw new AppError(this.roster.isKicked(ticket.sub) ? 'KICKED' : 'NOT_INVITED');
    }
    const member = opened.member;
    // A grand-rounds audience member receives only: no avatar, no pose slot (500 seats > 256 slots).
    const audience = receiveOnly(this.record.kind, member.access.role);
    if (audience) this.poses.listen(sessionId);
    // Never null while the seats with avatars stay ≤ MAX_SLOTS (ROOM_CAPACITY; grand rounds seat their audience without slots).
    const slot = audience ? 0 : this.poses.assign(sessionId);
    if (slot === null) {
      this.roster.close(sessionId);
      throw new AppError('ROOM_FULL');
    }
    const p = new ParticipantState();
    p.slot = slot;
    p.avatar = !audience;
    p.sessionId = sessionId;
    p.userId = member.userId;
    p.name = member.name;
    p.role = member.access.role;
    this.state.participants.set(sessionId, p);
    const { view, ready } = this.disclosure.attach(sessionId, member.userId);
    await this.deps.audit({ actor: member.userId, action: 'room.join', roomId: this.roomId, caseId: this.caseId, patientId: this.disclosure.patientId, details: { sessionId, role: member.access.role, scope: member.access.scope, jti: ticket.jti, ...(this.teaching.recordingId ? { recording: this.teaching.recordingId } : {}) } });
    // Every viewing of a recording is audited: a seat in its replay room is a viewing, under this access.
    const replaying = this.teaching.replaying;
    if (replaying) await this.deps.audit({ actor: member.userId, action: 'recording.view', roomId: this.roomId, caseId: this.caseId, details: { recordingId: replaying, sessionId, role: member.access.role, scope: member.access.scope } });
    await ready;
    this.teaching.seatOpened(sessionId);
    // Decision support for what they may see now; it never holds up the join (answers arrive as messages).
    this.cds?.seatOpened(member.userId, sessionId);
    return view;
  }

  /** A seat's socket dropped. Returns whether to hold the seat for reconnection. */
  dropped(sessionId: string, code: number | undefined): boolean {
    this.releaseLocks(sessionId);
    const seat = this.roster.seat(sessionId);
    if (!seat || seat.status === 'ending' || (code !== undefined && FINAL_CLOSE_CODES.has(code))) return false;
    this.roster.setStatus(sessionId, 'dropped');
    const p = this.state.participants.get(sessionId);
    if (p) p.connected = false;
    return true;
  }

  /** A dropped seat came back: its view (kept up to date while it was away), or a refusal. */
  reconnected(sessionId: string): StateView {
    const seat = this.roster.seat(sessionId);
    const view = this.disclosure.viewOf(sessionId);
    if (!seat || seat.status === 'ending' || !view) throw new AppError('NOT_INVITED', 'this seat has ended');
    this.roster.setStatus(sessionId, 'connected');
    const p = this.state.participants.get(sessionId);
    if (p) p.connected = true;
    // Frames went past while it was away: the next one it gets carries everyone.
    this.poses.sendKeyframe(sessionId);
    this.teaching.seatOpened(sessionId);
    this.cds?.seatBack(seat.userId, sessionId);
    return view;
  }

  /** The seat is gone for good (left, refused reconnection, or its window passed). */
  async left(sessionId: string): Promise<void> {
    this.releaseLocks(sessionId);
    if (this.state.info.presenter === sessionId) this.state.info.presenter = '';
    this.dispatcher.forget(sessionId);
    this.links.forget(sessionId);
    this.poses.release(sessionId);
    this.teaching.seatClosed(sessionId);
    this.disclosure.detach(sessionId);
    this.state.participants.delete(sessionId);
    const closed = this.roster.close(sessionId);
    if (!closed) return;
    await this.deps.audit({ actor: closed.seat.userId, action: 'room.leave', roomId: this.roomId, caseId: this.caseId, patientId: this.disclosure.patientId, details: { sessionId } }).catch(() => {});
    if (closed.lastOfUser) this.cds?.forget(closed.seat.userId);
    // Break-glass belongs to the participant while they are here.
    if (closed.lastOfUser) await this.breakGlass.endFor(closed.seat.userId, 'left');
  }

  /** Every message from a seat, whatever its type or shape. */
  async message(sessionId: string, type: unknown, payload: unknown): Promise<DispatchResult> {
    const actor = this.actorOf(sessionId);
    if (!actor) return INACTIVE_SEAT;
    try {
      return await this.dispatcher.dispatch(actor, type, payload);
    } catch (err) {
      this.deps.logger.error({ err, roomId: this.roomId, type: String(type).slice(0, 64) }, 'room command failed');
      return { ok: false, code: 'INTERNAL' };
    }
  }

  /**
   * An avatar pose (binary, shared/src/pose-wire.ts): the same budget and
   * policy as any message, then a length-and-range check instead of msgpack
   * and zod, and the bytes are kept as they came.
   */
  pose(sessionId: string, bytes: Uint8Array): DispatchResult {
    const actor = this.actorOf(sessionId);
    if (!actor) return INACTIVE_SEAT;
    return this.dispatcher.dispatchBinary(actor, 'pose', () => {
      const check = this.poses.accept(sessionId, bytes);
      return check === 'ok' ? ok() : fail('MESSAGE_INVALID', `pose message refused: ${check}`);
    });
  }

  /** Who acts through this seat, while it is active. */
  private actorOf(sessionId: string): Actor | null {
    const member = this.roster.activeMember(sessionId);
    return member ? { sessionId, userId: member.userId, name: member.name, role: member.access.role } : null;
  }

  /** A frame from this seat could not be decoded: it costs the same budget as a message, and is answered MESSAGE_INVALID. */
  malformed(sessionId: string, message = 'the frame could not be decoded'): DispatchResult {
    return this.dispatcher.charge(sessionId) ?? { ok: false, code: 'MESSAGE_INVALID', message };
  }

  // ---- changes from outside (HTTP, other processes) ---------------------------------

  /** Room record changed (title, kind, case, ceiling, participants): everyone's access follows at once. */
  async applyRoomChanges(record: LiveRoomRecord): Promise<void> {
    const before = this.record;
    this.record = record;
    this.roster.setRecord(record);
    this.applyInfo(record);
    // Whoever left the participant list is removed, even an administrator who would be admitted as observer.
    for (const old of before.participants) {
      if (!record.participants.some((p) => p.userId === old.userId)) void this.endUser(old.userId, CloseCodes.REMOVED);
    }
    if (record.caseId !== before.caseId) await this.showCase(record.caseId);
    await this.reevaluate();
    if (record.kind !== before.kind) this.tune();
    if (record.kind !== before.kind && this.deps.voice) {
      for (const m of this.roster.allMembers()) void this.deps.voice.updatePermissions(this.roomId, record.kind, m.userId, m.access.role);
    }
    // Who may watch the surgeon's video depends on the kind and on the room's observer setting:
    // a change takes effect for those watching now (removed from the video room when no longer allowed).
    if (record.kind !== before.kind || record.observerVideo !== before.observerVideo) {
      for (const m of this.roster.allMembers()) this.syncVideo(m.userId, m.access.role);
    }
    if (record.recordingAllowed !== before.recordingAllowed) this.teaching.settingsChanged('admin');
  }

  updateParticipant(p: ParticipantDto): Promise<void> {
    const participants = [...this.record.participants.filter((x) => x.userId !== p.userId), p];
    return this.applyRoomChanges({ ...this.record, participants });
  }

  removeParticipant(userId: string): Promise<void> {
    const participants = this.record.participants.filter((x) => x.userId !== userId);
    void this.endUser(userId, CloseCodes.REMOVED);
    return this.applyRoomChanges({ ...this.record, participants });
  }

  /** A host or admin re-admitted a kicked user (the kick row is already gone from the database). */
  readmit(userId: string): void {
    this.roster.readmit(userId);
  }

  async addCaseResource(resource: FhirResource): Promise<void> {
    await this.disclosure.addResource(resource);
    this.cds?.dataChanged();
  }

  async caseDeleted(): Promise<void> {
    this.state.info.caseId = '';
    await this.disclosure.clearCase();
    this.cds?.caseChanged();
  }

  voiceEvent(e: VoiceEvent): void {
    this.state.participants.forEach((p) => {
      if (p.userId !== e.userId) return;
      if (e.kind === 'joined') p.voiceConnected = true;
      else if (e.kind === 'left') {
        p.voiceConnected = false;
        p.publishing = false;
      } else if (e.microphone) {
        if (e.kind === 'published') {
          p.publishing = true;
          p.muted = e.muted ?? false;
        } else if (e.kind === 'unpublished') p.publishing = false;
        else p.muted = e.kind === 'muted';
      }
    });
  }

  /**
   * Someone joined this room's LiveKit voice or video room. A LiveKit token is
   * checked only when used and lives up to 10 minutes, so a removal, a kick, a
   * demotion or a setting change must also hold against a token minted before
   * it: whoever has no seat here, or no video grant now, is taken out again.
   */
  mediaJoined(userId: string, media: 'voice' | 'video'): boolean {
    const member = this.roster.member(userId);
    const seated = !!member && !this.roster.isKicked(userId) && this.roster.seatsOf(userId).some((s) => s.status !== 'ending');
    const allowed = seated && (media === 'voice' || videoGrant(member.access.role, this.record.kind, this.record) !== null);
    if (!allowed && this.deps.voice) {
      void (media === 'voice' ? this.deps.voice.remove(this.roomId, userId) : this.deps.voice.updateVideo(this.roomId, userId, member?.access.role ?? 'observer', null));
    }
    return allowed;
  }

  setVoiceStatus(status: string): void {
    this.state.info.voice = status;
  }

  snapshot(): LiveSnapshot {
    return {
      voice: this.state.info.voice,
      presenter: this.state.info.presenter,
      participants: [...this.state.participants.values()].map((p) => ({
        sessionId: p.sessionId,
        userId: p.userId,
        name: p.name,
        role: p.role,
        connected: p.connected,
        voiceConnected: p.voiceConnected,
        publishing: p.publishing,
        muted: p.muted,
      })),
    };
  }

  /**
   * Moderation from the console, decided there by the same policy
   * (MODERATION_RULES) on the room record; a kick is already stored, so only
   * its live half remains. The same code acts as in the room.
   */
  async moderate(by: string, action: 'mute' | 'unmute' | 'kick', userId: string, until: number | null): Promise<{ ok: boolean; code?: ErrorCode }> {
    if (action === 'kick') {
      await this.moderation.applyKick(userId, until);
      return { ok: true };
    }
    const result = await this.moderation.setMuted({ userId: by }, userId, action === 'mute');
    return result.ok ? { ok: true } : { ok: false, code: result.code };
  }

  /** Console decision on a break-glass request: an admin, or a host who did not ask. */
  async decide(principal: Principal, requestId: string, decision: 'approve' | 'deny'): Promise<{ ok: boolean; code?: ErrorCode }> {
    const allowed = authorizeConsoleDecision(principal, this.roster.invitation(principal.userId)?.role ?? null, this.breakGlass.requesterOf(requestId) === principal.userId);
    if (!allowed.allow) return { ok: false, code: allowed.code };
    const result = decision === 'approve' ? await this.breakGlass.approve(principal, requestId) : await this.breakGlass.deny(principal, requestId, undefined);
    return result.ok ? { ok: true } : { ok: false, code: result.code };
  }

  async flush(): Promise<void> {
    await this.teaching.settled();
    await this.scene.flush();
  }

  // ---- the one re-evaluation ----------------------------------------------------------

  /**
   * Re-derive everyone's access and make every seat — connected or dropped —
   * match it: seats of users no longer admitted end; changed roles show in the
   * state and LiveKit; views gain or lose data; a role change ends break-glass.
   */
  async reevaluate(): Promise<void> {
    const { ended, changed } = this.roster.reevaluate();
    for (const seat of ended) this.endSeat(seat.sessionId, this.roster.isKicked(seat.userId) ? CloseCodes.KICKED : CloseCodes.REMOVED);
    const refreshes: Promise<void>[] = [];
    for (const { member, before } of changed) {
      if (member.access.role !== before.role) {
        this.showRole(member);
        void this.deps.voice?.updatePermissions(this.roomId, this.record.kind, member.userId, member.access.role);
        this.syncVideo(member.userId, member.access.role);
        // A grant belongs to the role it was granted under.
        refreshes.push(this.breakGlass.endFor(member.userId, 'role-changed'));
      }
      refreshes.push(this.disclosure.refreshUser(member.userId));
      this.cds?.accessChanged(member.userId);
    }
    await Promise.all(refreshes);
    if (changed.some((c) => c.member.access.role !== c.before.role)) await this.disclosure.refreshAll();
  }

  // ---- internals -----------------------------------------------------------------------

  /** The video room follows the policy for this member now (videoGrant; no grant → out of the video room). */
  private syncVideo(userId: string, role: RoomRole): void {
    void this.deps.voice?.updateVideo(this.roomId, userId, role, videoGrant(role, this.record.kind, this.record));
  }

  /** End every seat of a user and their media session; resolves whether LiveKit took it (true without voice). */
  private endUser(userId: string, code: number): Promise<boolean> {
    for (const seat of this.roster.seatsOf(userId)) this.endSeat(seat.sessionId, code);
    return this.deps.voice ? this.deps.voice.remove(this.roomId, userId) : Promise.resolve(true);
  }

  /** End one seat: nothing more is disclosed to it, it can no longer act, and its socket or reconnection ends. */
  private endSeat(sessionId: string, code: number): void {
    if (this.roster.seat(sessionId)?.status === 'ending') return;
    this.roster.markEnding(sessionId);
    this.releaseLocks(sessionId);
    this.disclosure.detach(sessionId);
    const reason = Object.entries(CloseCodes).find(([, c]) => c === code)?.[0] ?? 'ENDED';
    this.transport.end(sessionId, code, reason);
  }

  private showRole(member: Member): void {
    for (const seat of member.seats) {
      const p = this.state.participants.get(seat);
      if (!p) continue;
      p.role = member.access.role;
      // Called on in grand rounds (promoted from the audience): an avatar now, and the hand goes down.
      if (!p.avatar && !receiveOnly(this.record.kind, member.access.role)) {
        const slot = this.poses.assign(seat);
        if (slot !== null) {
          p.slot = slot;
          p.avatar = true;
          p.handRaised = false;
        }
      }
    }
    if (!mayPresent(member.access.role, this.record.kind)) {
      for (const seat of member.seats) if (this.state.info.presenter === seat) this.state.info.presenter = '';
    }
  }

  /** Show this case (or none): withdraw the previous one from every view, then disclose the new one by scope. */
  private async showCase(caseId: string | null): Promise<void> {
    if (this.disclosure.caseId) {
      this.state.info.caseId = '';
      await this.disclosure.clearCase();
    }
    const c = caseId ? await this.deps.cases.get(caseId) : null;
    // The listing says which case this room shows, so any process can reach it (live vitals, deletion).
    await this.transport.publish({ room: this.roomId, caseId: c?.id ?? null });
    if (!c) return;
    // The room carries what a case conference needs; the rest is read on demand over HTTP under the same scopes.
    const summary = selectCaseSummary(c.resources);
    this.disclosure.loadCase(preparedCase(c), summary.resources, summary.totals);
    this.state.info.caseId = c.id;
    await this.disclosure.refreshAll();
    this.cds?.caseChanged();
  }

  private applyInfo(record: LiveRoomRecord): void {
    this.state.info.title = record.title;
    this.state.info.kind = record.kind;
  }

  private releaseLocks(sessionId: string): void {
    for (const obj of locksHeldBy(this.state.objects.values(), sessionId)) {
      obj.grabbedBy = '';
      void this.scene.persist(obj.id).catch(() => {});
    }
  }
}

/** The stable error a refused join carries to the SDK (`CODE: message`). */
export function refusal(err: unknown): { status: number; message: string } {
  const app = err instanceof AppError ? err : new AppError('INTERNAL');
  return { status: app.status, message: `${app.code}: ${app.message || ErrorCodes[app.code].message}` };
}
