import { randomUUID } from 'node:crypto';
import { ClientState, Room, ServerError, type AuthContext, type Client } from '@colyseus/core';
import { z } from 'zod';
import { CloseCodes, ErrorCodes, type ErrorCode } from '../../../shared/src/errors.ts';
import { CLIENT_MESSAGE_NAMES } from '../../../shared/src/messages.ts';
import { Limits, ServerMessageNames, type ErrorNotice, type Reply, type ServerMessages } from '../../../shared/src/protocol.ts';
import type { ClinicState } from '../../../shared/src/state.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { TicketClaims } from '../auth/tickets.ts';
import { claimsHandedOver } from '../colyseus/matchmaker.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import type { SceneRepo } from '../db/scene.repo.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { VoiceControl } from '../media/livekit.ts';
import type { BreakGlassSettings } from './break-glass.ts';
import type { CdsGateway } from '../cds/gateway.ts';
import { Clinic, refusal } from './clinic.ts';
import type { DispatchResult } from './dispatcher.ts';
import type { ClinicListing, LiveRooms, LocalRoom } from './live-rooms.ts';
import { LIVE_ELSEWHERE, REMOTE_CALL } from './live-rooms.ts';
import { frameKind, isLeave, requestIdOf } from '../colyseus/frames.ts';
import { seatTaken } from './matchmaking.ts';
import { answerRequest, bytesMessageHeader, interceptFrames, isBytesMessage, onSocketPingPong, unsentBytes } from '../colyseus/room.ts';
import { binaryFrame, writeFrame } from '../colyseus/ws-frames.ts';
import type { PoseBudget } from './pose-budget.ts';
import type { RecordingStore } from './teaching.ts';
import type { AudioRecorder } from '../media/egress.ts';
import { POSE_FRAME, POSE_MESSAGE } from '../../../shared/src/pose-wire.ts';
import { REPLAY_POSE_FRAME } from '../../../shared/src/replay-wire.ts';

export interface ClinicRoomDeps {
  rooms: RoomsRepo;
  scene: SceneRepo;
  cases: CasesRepo;
  live: LiveRooms;
  audit: AuditLog;
  logger: Logger;
  breakGlass: BreakGlassSettings;
  /** null when LiveKit is not configured. */
  voice: VoiceControl | null;
  /** Seconds a dropped client may take to reconnect to its seat. */
  reconnectSeconds: number;
  /** How often coalesced object moves are written to PostgreSQL. */
  flushIntervalMs: number;
  /** Most seats one user may hold in a room at once (desktop + headset, say). */
  maxSeatsPerUser: number;
  guidance: { patchHz: number; linkLimitMs: number };
  /** How long avatar poses gather before a frame goes out, shared by every room of the process. */
  poseBudget: PoseBudget;
  /** Decision support (CDS Hooks); null when off. */
  cds: CdsGateway | null;
  recordings: RecordingStore;
  /** null: recordings have no audio. */
  audioRecorder: AudioRecorder | null;
  recordingRetentionDays: number | null;
  /** Who is in a room changed inside it (a kick): recordings granted to it follow. */
  membershipChanged?: (roomId: string, actor: string) => Promise<void>;
}

/** Conferences patch at 30 Hz; surgical guidance at its configured rate (60 Hz by default). */
const CONFERENCE_PATCH_HZ = 30;

/** A seat's socket: its verified ticket, and only the server messages of the protocol (shared/src/protocol.ts). */
type ClinicClient = Client<{ auth: TicketClaims; messages: ServerMessages }>;

/** Request types a handler answers (Colyseus answers any other request itself). */
const HANDLED = new Set<string>(CLIENT_MESSAGE_NAMES);
const isHandled = (type: string) => HANDLED.has(type);

const CreateOptions = z.object({ room: z.string().uuid() });
/** Undecodable frames are logged at most once per client per this interval. */
const MALFORMED_LOG_MS = 10_000;
/**
 * Lease on "the one live instance of this room": renewed while alive; taken over
 * at once when its holder's process is gone (see takeLease), else once expired.
 */
const LEASE_SECONDS = 30;
const LEASE_RENEW_MS = 10_000;
/** Colyseus' framing of a bytes message of type POSE_FRAME (a small number is one msgpack byte). */
const POSE_FRAME_HEADER = bytesMessageHeader(POSE_FRAME);
const REPLAY_POSE_FRAME_HEADER = bytesMessageHeader(REPLAY_POSE_FRAME);
/** A socket with more than this unsent is skipped; it gets a keyframe once it drains. */
const POSE_BACKLOG_BYTES = 64 * 1024;

/** ServerError whose message starts with the stable code, so SDK clients can branch on it (ServerErrors pass through). */
export function refuse(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  const r = refusal(err);
  return new ServerError(r.status, r.message);
}

/**
 * The Colyseus adapter for a Consilium room: it carries seats for the
 * socket-free Clinic, which decides everything. Its Colyseus room id is the
 * Consilium room id, and a database lease makes it the only instance anywhere.
 */
export function defineClinicRoom(deps: ClinicRoomDeps) {
  return class ClinicRoom extends Room<{ state: ClinicState; client: ClinicClient; metadata: ClinicListing }> {
    // Backstop only: the dispatcher's token bucket answers RATE_LIMITED long before this.
    override maxMessagesPerSecond = 2000;

    private clinic!: Clinic;
    /** What LiveRooms reaches in this process: the engine, and closing the room. */
    private local!: LocalRoom;
    private readonly instanceId = randomUUID();
    private readonly reconnections = new Map<string, { reject: (reason?: unknown) => unknown }>();
    private stopVoiceStatus: (() => void) | null = null;
    private leaseLost = false;
    private readonly timers = new Set<NodeJS.Timeout>();

    /**
     * Colyseus asks during matchmaking, before reserving a seat: the answer is
     * the claims the matchmaking gate verified for this very request
     * (matchmaking.ts says which check happens where). Nothing is verified
     * twice; a join that did not pass the gate has none, and is refused.
     */
    static override async onAuth(_token: string, _options: unknown, context?: AuthContext): Promise<TicketClaims> {
      const claims = claimsHandedOver<TicketClaims>(context);
      if (!claims) throw refuse(new AppError('TICKET_REQUIRED'));
      return claims;
    }

    override async onCreate(options: unknown): Promise<void> {
      const { room: roomId } = CreateOptions.parse(options);
      // Colyseus room id = Consilium room id: one listing per room, and joinById names the room.
      this.roomId = roomId;
      if (!(await this.takeLease(roomId))) {
        throw new ServerError(409, `${LIVE_ELSEWHERE}: room ${roomId} is live in another instance`);
      }
      try {
        // A previous instance of this room in this process may still be writing its last moves.
        await deps.live.settled(roomId);
        this.clinic = await Clinic.open(
          roomId,
          {
            store: deps.rooms,
            scene: deps.scene,
            cases: deps.cases,
            audit: (e) => deps.audit.record(e),
            voice: deps.voice,
            logger: deps.logger,
            breakGlass: deps.breakGlass,
            now: Date.now,
            schedule: (fn, ms) => void this.clock.setTimeout(fn, ms),
            maxSeatsPerUser: deps.maxSeatsPerUser,
            patchHz: (kind) => (kind === 'surgical-guidance' ? deps.guidance.patchHz : CONFERENCE_PATCH_HZ),
            linkLimitMs: deps.guidance.linkLimitMs,
            timer: (fn, ms) => this.timer(fn, ms),
            poseBudget: deps.poseBudget,
            cds: deps.cds,
            recordings: deps.recordings,
            audioRecorder: deps.audioRecorder,
            recordingRetentionDays: deps.recordingRetentionDays,
            membershipChanged: deps.membershipChanged,
          },
          {
            end: (sessionId, code, reason) => this.endSeat(sessionId, code, reason),
            publish: (listing) => this.setMetadata(listing),
            send: (sessionId, type, message) => this.clients.getById(sessionId)?.send(type, message),
            broadcast: (type, message, except) => this.broadcast(type, message, except ? { except: this.clients.getById(except) } : {}),
            setPatchRate: (hz) => this.setPatchRate(1000 / hz),
            setCapacity: (max) => void (this.maxClients = max),
            poseHeader: POSE_FRAME_HEADER,
            replayPoseHeader: REPLAY_POSE_FRAME_HEADER,
            poseReadiness: (sessionId) => {
              const client = this.clients.getById(sessionId);
              if (!client) return 'absent';
              if (client.state !== ClientState.JOINED) return 'busy';
              return unsentBytes(client) > POSE_BACKLOG_BYTES ? 'busy' : 'ready';
            },
            sendPoseFrame: (sessionId, frame) => this.sendShared(sessionId, frame),
          },
        );
      } catch (err) {
        await deps.rooms.releaseLease(roomId, this.instanceId).catch(() => {});
        throw refuse(err);
      }
      this.setState(this.clinic.state);
      this.guardFrames();
      this.autoDispose = true;
      if (deps.voice) this.stopVoiceStatus = deps.voice.onStatus((s) => this.clinic.setVoiceStatus(s));

      for (const type of CLIENT_MESSAGE_NAMES) {
        this.onMessage(type, (client: ClinicClient, payload: unknown, ctx: { id?: number }) => this.handle(client, type, payload, ctx.id !== undefined));
      }
      this.onMessage('*', (client: ClinicClient, type: string | number, payload: unknown) => void this.handle(client, type, payload, false));
      this.clock.setInterval(() => this.flushQuietly(), deps.flushIntervalMs);
      this.clock.setInterval(() => void this.renewLease(), LEASE_RENEW_MS);
      this.local = { engine: this.clinic, close: () => this.disconnect(CloseCodes.ROOM_CLOSED).then(() => {}) };
      deps.live.register(roomId, this.local);
    }

    override async onJoin(client: ClinicClient): Promise<void> {
      // Its seat reservation is used: it no longer counts against the user's joins in flight (matchmaking.ts).
      await seatTaken(this.roomId, client.auth!.sub, client.sessionId).catch(() => {});
      try {
        client.view = await this.clinic.admit(client.sessionId, client.auth!);
      } catch (err) {
        throw refuse(err);
      }
      this.meterSocketFrames(client);
    }

    override onDrop(client: ClinicClient, code?: number): void {
      if (!this.clinic.dropped(client.sessionId, code)) return;
      // Not awaited: awaiting would keep this handler (and rate-limited clients) pending.
      const held = this.allowReconnection(client, deps.reconnectSeconds);
      this.reconnections.set(client.sessionId, held as unknown as { reject: (reason?: unknown) => unknown });
      void held.catch(() => {}).finally(() => this.reconnections.delete(client.sessionId));
    }

    override onReconnect(client: ClinicClient): void {
      client.view = this.clinic.reconnected(client.sessionId);
      this.meterSocketFrames(client);
    }

    override async onLeave(client: ClinicClient): Promise<void> {
      await this.clinic.left(client.sessionId);
    }

    override onBeforeShutdown(): void {
      // Persist first, then let Colyseus disconnect everyone (onDispose flushes again).
      void this.flush()
        .catch((err: unknown) => deps.logger.error({ err, roomId: this.roomId }, 'scene flush failed at shutdown'))
        .finally(() => super.onBeforeShutdown());
    }

    override async onDispose(): Promise<void> {
      this.stopVoiceStatus?.();
      for (const t of this.timers) clearTimeout(t);
      if (!this.clinic) return;
      this.clinic.dispose();
      const flushed = this.flush().catch((err: unknown) => {
        deps.logger.error({ err, roomId: this.roomId }, 'scene flush failed when the room closed');
      });
      deps.live.unregister(this.roomId, this.local, flushed);
      await flushed;
      await deps.rooms.releaseLease(this.roomId, this.instanceId).catch(() => {});
    }

    /** Another process's LiveRooms asks this room to act (`REMOTE_CALL`, through presence). */
    [REMOTE_CALL](method: string, args: unknown[]): Promise<unknown> {
      return deps.live.callLocal(this.roomId, method, args);
    }

    flush(): Promise<void> {
      return this.clinic.flush();
    }

    // ---- transport -------------------------------------------------------------------------

    private lastShared: { payload: Uint8Array; frame: Buffer } | null = null;
    /** A message every seat gets the same bytes of (pose frames): framed once per payload, written straight to each socket. */
    private sendShared(sessionId: string, payload: Uint8Array): void {
      const client = this.clients.getById(sessionId);
      if (!client) return;
      if (this.lastShared?.payload !== payload) this.lastShared = { payload, frame: binaryFrame(payload) };
      if (!writeFrame(client.ref, this.lastShared.frame)) client.raw(payload);
    }

    /** A real timer, cleared when the room goes: the room clock ticks only every ~16 ms. */
    private timer(fn: () => void, ms: number): void {
      const t = setTimeout(() => {
        this.timers.delete(t);
        fn();
      }, ms);
      this.timers.add(t);
    }

    /** End a seat: close its socket, or refuse the reconnection it is waiting for. */
    private endSeat(sessionId: string, code: number, reason: string): void {
      const client = this.clients.getById(sessionId);
      if (client) client.leave(code, reason);
      this.reconnections.get(sessionId)?.reject(new ServerError(code, reason));
    }

    /**
     * Every frame passes here before Colyseus decodes it, and every frame costs
     * the sender one message of its budget: messages on the dispatcher's path,
     * everything else here (Colyseus' own codes such as PING, requests nobody
     * handles, undecodable bytes), so a flood of anything ends in 4429. An
     * undecodable frame is answered MESSAGE_INVALID instead of costing a stack
     * trace and the connection; nothing a client sends can throw past this.
     */
    private guardFrames(): void {
      interceptFrames<ClinicClient>(this, (client, buffer, colyseus) => {
        // Colyseus drops a leaving client's frames; so do we.
        if (client.state === ClientState.LEAVING) return;
        try {
          if (!buffer) return this.undecodable(client, 0);
          // Over the message limit (but under the socket's): refused, the connection kept.
          if (buffer.byteLength > Limits.maxFrameBytes) {
            this.answer(client, buffer, this.clinic.malformed(client.sessionId, `frames are at most ${Limits.maxFrameBytes} bytes`));
            return;
          }
          // The pose fast path (bytes message of type POSE_MESSAGE, a one-byte type): straight to the clinic.
          if (isBytesMessage(buffer, POSE_MESSAGE)) {
            this.pose(client, buffer.subarray(2));
            return;
          }
          switch (frameKind(buffer, isHandled)) {
            case 'message':
              return colyseus(client, buffer);
            case 'control': {
              const refused = this.chargeFrame(client);
              if (refused && !isLeave(buffer)) return this.answer(client, buffer, refused);
              return colyseus(client, buffer);
            }
            case 'undecodable':
              return this.undecodable(client, buffer.byteLength);
          }
        } catch (err) {
          this.logMalformed(client, buffer?.byteLength ?? 0, err);
        }
      });
    }

    private undecodable(client: ClinicClient, bytes: number): void {
      this.reply(client, 'frame', this.clinic.malformed(client.sessionId), false);
      this.logMalformed(client, bytes);
    }

    /**
     * One message of the budget for a frame no message handler sees; the
     * refusal when over budget, else null. (Clinic.malformed is the budget's
     * door for frames that carry no message: it charges, and its MESSAGE_INVALID is not used here.)
     */
    private chargeFrame(client: ClinicClient): DispatchResult | null {
      const result = this.clinic.malformed(client.sessionId);
      return !result.ok && result.code === 'RATE_LIMITED' ? result : null;
    }

    /** A refused frame's answer: a request gets it as its response (its id is the frame's first field), so the caller is not left waiting. */
    private answer(client: ClinicClient, buffer: Uint8Array, result: DispatchResult): void {
      const requestId = requestIdOf(buffer);
      const answer = this.reply(client, 'frame', result, requestId !== undefined);
      if (answer && requestId !== undefined) answerRequest(client, requestId, answer);
    }

    /** WebSocket ping and pong frames never reach _onMessage (`ws` answers pings itself): they cost the budget all the same. */
    private meterSocketFrames(client: ClinicClient): void {
      const charge = () => {
        if (client.state === ClientState.LEAVING) return;
        const refused = this.chargeFrame(client);
        if (refused) this.reply(client, 'frame', refused, false);
      };
      onSocketPingPong(client, charge);
    }

    private readonly malformedLog = new Map<string, { at: number; count: number }>();
    private logMalformed(client: ClinicClient, bytes: number, err?: unknown): void {
      const now = Date.now();
      const entry = this.malformedLog.get(client.sessionId) ?? { at: 0, count: 0 };
      entry.count++;
      if (now - entry.at >= MALFORMED_LOG_MS) {
        deps.logger.warn({ roomId: this.roomId, sessionId: client.sessionId, frames: entry.count, bytes, error: err instanceof Error ? err.message.slice(0, 120) : undefined }, 'undecodable room frames dropped');
        entry.at = now;
        entry.count = 0;
      }
      this.malformedLog.set(client.sessionId, entry);
    }

    private pose(client: ClinicClient, bytes: Uint8Array): void {
      const result = this.clinic.pose(client.sessionId, bytes);
      if (!result.ok) this.reply(client, 'pose', result, false);
    }

    private async handle(client: ClinicClient, type: string | number, payload: unknown, isRequest: boolean): Promise<Reply<Record<string, unknown>> | undefined> {
      return this.reply(client, type, await this.clinic.message(client.sessionId, type, payload), isRequest);
    }

    private reply(client: ClinicClient, type: string | number, result: DispatchResult, isRequest: boolean): Reply<Record<string, unknown>> | undefined {
      if (result.ok) return isRequest ? { ok: true, ...(result.value ?? {}) } : undefined;
      const error = { code: result.code, message: result.message ?? ErrorCodes[result.code].message, ...(result.details ? { details: result.details } : {}) };
      if (result.disconnect) {
        client.leave(CloseCodes.RATE_LIMITED, 'RATE_LIMITED');
      } else if (!isRequest && this.shouldNotify(client, result.code, type)) {
        const notice: ErrorNotice = { ...error, type: String(type).slice(0, 64) };
        client.send(ServerMessageNames.error, notice);
      }
      return isRequest ? { ok: false, error } : undefined;
    }

    private readonly lastRateNotice = new WeakMap<ClinicClient, number>();
    /** At most one RATE_LIMITED or undecodable-frame notice per second per client; a flood must not double the traffic. */
    private shouldNotify(client: ClinicClient, code: ErrorCode, type: string | number): boolean {
      if (code !== 'RATE_LIMITED' && type !== 'frame' && type !== 'pose') return true;
      const now = Date.now();
      if (now - (this.lastRateNotice.get(client) ?? 0) < 1000) return false;
      this.lastRateNotice.set(client, now);
      return true;
    }

    /**
     * Take the room's lease. A holder whose process has died (killed, crashed)
     * is not waited for: an earlier boot of this process is taken over by the
     * lease query itself, and a boot gone from presence (its `p:` channel closes
     * with its Redis connection) by a compare-and-swap on that boot.
     */
    private async takeLease(roomId: string): Promise<boolean> {
      const holder = deps.live.leaseHolder(this.instanceId);
      for (let attempt = 0; attempt < 2; attempt++) {
        const taken = await deps.rooms.acquireLease(roomId, holder, LEASE_SECONDS);
        if (taken.ok) return true;
        if (taken.holderBoot === null) continue; // released meanwhile (or a lease from before holders were recorded: it expires)
        if (await deps.live.isProcessAlive(taken.holderBoot)) return false;
        deps.logger.warn({ roomId }, 'live-instance lease held by a process that is gone; taking it over');
        return (await deps.rooms.acquireLease(roomId, holder, LEASE_SECONDS, taken.holderBoot)).ok;
      }
      return false;
    }

    /** Losing the lease means another instance may have taken over: stop serving this copy. */
    private async renewLease(): Promise<void> {
      if (this.leaseLost) return;
      const held = await deps.rooms.renewLease(this.roomId, this.instanceId, LEASE_SECONDS).catch(() => true);
      if (held) return;
      this.leaseLost = true;
      deps.logger.error({ roomId: this.roomId }, 'live-instance lease lost; closing this copy of the room');
      await this.disconnect(CloseCodes.ROOM_CLOSED);
    }

    private flushQuietly(): void {
      this.flush().catch((err: unknown) => deps.logger.warn({ err, roomId: this.roomId }, 'scene flush failed; will retry'));
    }
  };
}
