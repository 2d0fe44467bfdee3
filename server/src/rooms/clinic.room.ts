import { Room, ServerError, type AuthContext, type Client } from '@colyseus/core';
import type { FhirResource } from '../../../shared/src/fhir.ts';
import type { ParticipantDto } from '../../../shared/src/http.ts';
import { CloseCodes, ErrorCodes, type ErrorCode } from '../../../shared/src/errors.ts';
import { CLIENT_MESSAGE_NAMES } from '../../../shared/src/messages.ts';
import { JoinOptions, PROTOCOL_VERSION, ServerMessageNames, type ErrorNotice, type Reply } from '../../../shared/src/protocol.ts';
import { ClinicState, ParticipantState } from '../../../shared/src/state.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { defaultScopes } from '../auth/policy.ts';
import type { TicketClaims, TicketService } from '../auth/tickets.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import type { SceneRepo } from '../db/scene.repo.ts';
import { locksHeldBy } from '../domain/scene.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { BreakGlassDesk, type BreakGlassSettings } from './break-glass.ts';
import { preparedCase } from './case-loader.ts';
import type { Actor } from './commands/command.ts';
import { Disclosure } from './disclosure.ts';
import { Dispatcher, type DispatchResult } from './dispatcher.ts';
import type { ClinicListing, LiveRoomRecord, LiveRooms, LiveSnapshot, LocalRoom, VoiceEvent } from './live-rooms.ts';
import { Moderation } from './moderation.ts';
import type { VoiceControl } from '../media/livekit.ts';
import { SceneStore } from './scene-store.ts';

export interface ClinicRoomDeps {
  rooms: RoomsRepo;
  scene: SceneRepo;
  cases: CasesRepo;
  tickets: TicketService;
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
}

type ClinicClient = Client<{ auth: TicketClaims }>;

/** ServerError whose message starts with the stable code, so SDK clients can branch on it. */
function refuse(err: unknown): ServerError {
  const app = err instanceof AppError ? err : new AppError('INTERNAL');
  return new ServerError(app.status, `${app.code}: ${app.message}`);
}

/** Codes the server closes with on purpose: no reconnection seat for those. */
const FINAL_CLOSE_CODES = new Set<number>([...Object.values(CloseCodes), 4002]);

/**
 * The Colyseus adapter for a Consilium room: authenticates joins by ticket,
 * keeps the participant list, hands every message to the Dispatcher, and lets
 * Disclosure decide what each client's view contains.
 */
export function defineClinicRoom(deps: ClinicRoomDeps) {
  return class ClinicRoom extends Room<{ state: ClinicState; client: ClinicClient; metadata: ClinicListing }> implements LocalRoom {
    override state = new ClinicState();
    override maxClients = 64;
    // Backstop only: the dispatcher's token bucket answers RATE_LIMITED long before this.
    override maxMessagesPerSecond = 2000;
    override patchRate = 1000 / 30;

    private record!: LiveRoomRecord;
    private scene!: SceneStore;
    private disclosure!: Disclosure;
    private dispatcher!: Dispatcher;
    private moderation!: Moderation;
    private stopVoiceStatus: (() => void) | null = null;

    /** Runs during matchmaking, before any seat is reserved. */
    static override async onAuth(token: string, options: unknown, _context: AuthContext): Promise<TicketClaims> {
      const join = JoinOptions.safeParse(options);
      if (!join.success) throw refuse(new AppError('BODY_INVALID', 'join options must be { room, protocolVersion }'));
      if (join.data.protocolVersion !== PROTOCOL_VERSION) {
        throw refuse(new AppError('PROTOCOL_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}`));
      }
      try {
        const claims = await deps.tickets.verify(token, join.data.room);
        if (await deps.rooms.isTicketRevoked(claims.room, claims.sub, claims.iat)) throw new AppError('TICKET_REVOKED');
        return claims;
      } catch (err) {
        const code = err instanceof AppError ? err.code : 'INTERNAL';
        await deps.audit.record({ actor: 'unknown', action: 'ticket.refused', outcome: 'failure', details: { code, room: join.data.room } }).catch(() => {});
        throw refuse(err);
      }
    }

    private get caseId(): string | null {
      return this.disclosure?.caseId ?? null;
    }

    override async onCreate(options: unknown): Promise<void> {
      const { room: roomId } = JoinOptions.parse(options);
      const record = await deps.rooms.get(roomId);
      if (!record) throw refuse(new AppError('ROOM_NOT_FOUND'));
      if (record.status !== 'open') throw refuse(new AppError('ROOM_CLOSED'));
      // One live instance per Consilium room: the matchmaker filters on `room`.
      this.record = record;
      this.autoDispose = true;
      this.state.info.roomId = roomId;
      this.state.info.protocolVersion = PROTOCOL_VERSION;
      this.applyInfo(record);

      const audit = (e: Parameters<AuditLog['record']>[0]) => deps.audit.record(e);
      this.disclosure = new Disclosure({
        state: this.state,
        roomId,
        audit,
        now: Date.now,
        onError: (err) => deps.logger.error({ err, roomId }, 'disclosure failed; nothing new was disclosed'),
      });
      await this.showCase(record.caseId);
      this.scene = new SceneStore(roomId, deps.scene, this.state.objects);
      // A previous instance of this room may still be writing its last moves.
      await deps.live.settled(roomId);
      await this.scene.load();
      const breakGlass = new BreakGlassDesk({
        state: this.state,
        disclosure: this.disclosure,
        roomId,
        audit,
        now: Date.now,
        schedule: (fn, ms) => void this.clock.setTimeout(fn, ms),
        settings: deps.breakGlass,
      });
      const moderation = (this.moderation = new Moderation({
        state: this.state,
        roomId,
        voice: deps.voice,
        audit,
        revokeTickets: (userId) => deps.rooms.revokeTickets(roomId, userId),
        disconnect: (userId, code) => this.disconnectUser(userId, code),
      }));
      this.dispatcher = new Dispatcher({ state: this.state, scene: this.scene, disclosure: this.disclosure, breakGlass, moderation });
      if (deps.voice) {
        this.state.info.voice = deps.voice.status;
        this.stopVoiceStatus = deps.voice.onStatus((s) => (this.state.info.voice = s));
      }

      for (const type of CLIENT_MESSAGE_NAMES) {
        this.onMessage(type, (client: ClinicClient, payload: unknown, ctx: { id?: number }) =>
          this.handle(client, type, payload, ctx.id !== undefined),
        );
      }
      this.onMessage('*', (client: ClinicClient, type: string | number, payload: unknown) => {
        void this.handle(client, type, payload, false);
      });
      this.clock.setInterval(() => this.flushQuietly(), deps.flushIntervalMs);
      deps.live.register(roomId, this);
    }

    override async onJoin(client: ClinicClient): Promise<void> {
      const claims = client.auth!;
      const invitation = this.record.participants.find((p) => p.userId === claims.sub);
      if (!invitation && !claims.admin) throw refuse(new AppError('NOT_INVITED'));
      // The live record wins over the ticket: a role or scope change after issue applies at once.
      if (invitation) {
        claims.role = invitation.role;
        claims.scope = (invitation.scopes ?? defaultScopes(invitation.role)).join(' ');
      }
      const { view, ready } = this.disclosure.attach(client.sessionId, claims.sub, claims.role, claims.scope);
      client.view = view;
      const p = new ParticipantState();
      p.sessionId = client.sessionId;
      p.userId = claims.sub;
      p.name = claims.name;
      p.role = claims.role;
      this.state.participants.set(client.sessionId, p);
      await deps.audit.record({ actor: claims.sub, action: 'room.join', roomId: this.record.id, caseId: this.caseId, details: { sessionId: client.sessionId, role: claims.role, scope: claims.scope, jti: claims.jti } });
      await ready;
    }

    override onDrop(client: ClinicClient, code?: number): void {
      this.releaseLocks(client.sessionId);
      if (code !== undefined && FINAL_CLOSE_CODES.has(code)) return;
      const p = this.state.participants.get(client.sessionId);
      if (p) p.connected = false;
      // Not awaited: awaiting would keep this handler (and rate-limited clients) pending.
      void this.allowReconnection(client, deps.reconnectSeconds).catch(() => {});
    }

    override onReconnect(client: ClinicClient): void {
      const view = this.disclosure.viewOf(client.sessionId);
      if (view) client.view = view;
      const p = this.state.participants.get(client.sessionId);
      if (p) p.connected = true;
    }

    override onLeave(client: ClinicClient): void {
      this.releaseLocks(client.sessionId);
      if (this.state.info.presenter === client.sessionId) this.state.info.presenter = '';
      this.dispatcher.forget(client.sessionId);
      this.disclosure.detach(client.sessionId);
      this.state.participants.delete(client.sessionId);
      void deps.audit.record({ actor: client.auth?.sub ?? 'unknown', action: 'room.leave', roomId: this.record.id, caseId: this.caseId, details: { sessionId: client.sessionId } }).catch(() => {});
    }

    override onBeforeShutdown(): void {
      // Persist first, then let Colyseus disconnect everyone (onDispose flushes again).
      void this.flush()
        .catch((err: unknown) => deps.logger.error({ err, roomId: this.record.id }, 'scene flush failed at shutdown'))
        .finally(() => super.onBeforeShutdown());
    }

    override async onDispose(): Promise<void> {
      this.stopVoiceStatus?.();
      const flushed = this.flush().catch((err: unknown) => {
        deps.logger.error({ err, roomId: this.record.id }, 'scene flush failed when the room closed');
      });
      deps.live.unregister(this.record.id, this, flushed);
      await flushed;
    }

    // ---- LiveRoomHandle --------------------------------------------------------

    applyRoomChanges(record: LiveRoomRecord): void {
      const before = this.record;
      this.record = record;
      this.applyInfo(record);
      if (record.caseId !== before.caseId) {
        void this.showCase(record.caseId).catch((err: unknown) => deps.logger.error({ err, roomId: record.id }, 'switching the case failed'));
      }
      if (record.kind !== before.kind && deps.voice) {
        // Grants depend on the room kind (the surgeon's camera in surgical guidance).
        for (const p of record.participants) void deps.voice.updatePermissions(record.id, record.kind, p.userId, p.role);
      }
      for (const client of this.clients) {
        const p = record.participants.find((x) => x.userId === client.auth!.sub);
        if (!p && !client.auth!.admin) client.leave(CloseCodes.REMOVED, 'NOT_INVITED');
        else if (p) {
          const old = before.participants.find((x) => x.userId === p.userId);
          if (old?.role !== p.role || JSON.stringify(old?.scopes ?? null) !== JSON.stringify(p.scopes ?? null)) this.updateParticipant(p);
        }
      }
    }

    updateParticipant(p: ParticipantDto): void {
      const participants = this.record.participants.filter((x) => x.userId !== p.userId);
      this.record = { ...this.record, participants: [...participants, p] };
      const scope = (p.scopes ?? defaultScopes(p.role)).join(' ');
      for (const client of this.clients) {
        if (client.auth!.sub !== p.userId) continue;
        client.auth!.role = p.role;
        client.auth!.scope = scope;
        const state = this.state.participants.get(client.sessionId);
        if (state) state.role = p.role;
      }
      void this.disclosure.setParticipant(p.userId, p.role, scope);
      void deps.voice?.updatePermissions(this.record.id, this.record.kind, p.userId, p.role);
    }

    removeParticipant(userId: string): void {
      this.record = { ...this.record, participants: this.record.participants.filter((x) => x.userId !== userId) };
      this.disconnectUser(userId, CloseCodes.REMOVED);
      // Their media session ends now, although their LiveKit token has not expired.
      void deps.voice?.remove(this.record.id, userId);
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

    addCaseResource(resource: FhirResource): void {
      void this.disclosure.addResource(resource);
    }

    caseDeleted(): void {
      this.state.info.caseId = '';
      void this.disclosure.clearCase();
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

    async moderate(actor: { userId: string; name: string }, action: 'mute' | 'unmute' | 'kick', userId: string): Promise<{ ok: boolean; code?: string }> {
      const as: Actor = { sessionId: 'console', userId: actor.userId, name: actor.name, role: 'host' };
      const result = action === 'kick' ? await this.moderation.kick(as, userId) : await this.moderation.setMuted(as, userId, action === 'mute');
      return result.ok ? { ok: true } : { ok: false, code: result.code };
    }

    async close(): Promise<void> {
      await this.disconnect(CloseCodes.ROOM_CLOSED);
    }

    flush(): Promise<void> {
      return this.scene.flush();
    }

    // ---- internals -------------------------------------------------------------

    private async handle(client: ClinicClient, type: string | number, payload: unknown, isRequest: boolean): Promise<Reply<Record<string, unknown>> | undefined> {
      const claims = client.auth!;
      const actor: Actor = { sessionId: client.sessionId, userId: claims.sub, name: claims.name, role: claims.role };
      let result: DispatchResult;
      try {
        result = await this.dispatcher.dispatch(actor, type, payload);
      } catch (err) {
        deps.logger.error({ err, roomId: this.record.id, type: String(type) }, 'room command failed');
        result = { ok: false, code: 'INTERNAL' };
      }
      if (result.ok) return isRequest ? { ok: true, ...(result.value ?? {}) } : undefined;

      const error = { code: result.code, message: result.message ?? ErrorCodes[result.code].message, ...(result.details ? { details: result.details } : {}) };
      if (result.disconnect) {
        client.leave(CloseCodes.RATE_LIMITED, 'RATE_LIMITED');
      } else if (!isRequest && this.shouldNotify(client, result.code)) {
        const notice: ErrorNotice = { ...error, type: String(type).slice(0, 64) };
        client.send(ServerMessageNames.error, notice);
      }
      return isRequest ? { ok: false, error } : undefined;
    }

    private readonly lastRateNotice = new WeakMap<ClinicClient, number>();
    /** At most one RATE_LIMITED notice per second per client; a flood must not double the traffic. */
    private shouldNotify(client: ClinicClient, code: ErrorCode): boolean {
      if (code !== 'RATE_LIMITED') return true;
      const now = Date.now();
      if (now - (this.lastRateNotice.get(client) ?? 0) < 1000) return false;
      this.lastRateNotice.set(client, now);
      return true;
    }

    /** Show this case (or none): withdraw the previous one from every view, then disclose the new one by scope. */
    private async showCase(caseId: string | null): Promise<void> {
      if (this.disclosure.caseId) {
        this.state.info.caseId = '';
        await this.disclosure.clearCase();
      }
      const c = caseId ? await deps.cases.get(caseId) : null;
      // The listing says which case this room shows, so any process can reach it (live vitals, deletion).
      await this.setMetadata({ room: this.record.id, caseId: c?.id ?? null });
      if (!c) return;
      this.disclosure.loadCase(preparedCase(c), c.resources);
      this.state.info.caseId = c.id;
      await this.disclosure.refreshAll();
    }

    private disconnectUser(userId: string, code: number): void {
      for (const client of this.clients) if (client.auth!.sub === userId) client.leave(code, 'REMOVED');
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

    private flushQuietly(): void {
      this.flush().catch((err: unknown) => deps.logger.warn({ err, roomId: this.record.id }, 'scene flush failed; will retry'));
    }
  };
}
