import { Room, ServerError, type AuthContext, type Client } from '@colyseus/core';
import { CloseCodes, ErrorCodes, type ErrorCode } from '../../../shared/src/errors.ts';
import { CLIENT_MESSAGE_NAMES } from '../../../shared/src/messages.ts';
import { JoinOptions, PROTOCOL_VERSION, ServerMessageNames, type ErrorNotice, type Reply } from '../../../shared/src/protocol.ts';
import { ClinicState, ParticipantState } from '../../../shared/src/state.ts';
import type { TicketClaims, TicketService } from '../auth/tickets.ts';
import type { RoomRecord, RoomsRepo } from '../db/rooms.repo.ts';
import type { SceneRepo } from '../db/scene.repo.ts';
import { locksHeldBy } from '../domain/scene.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Actor } from './commands/command.ts';
import { Dispatcher, type DispatchResult } from './dispatcher.ts';
import type { LiveRoomHandle, LiveRooms } from './live-rooms.ts';
import { SceneStore } from './scene-store.ts';

export interface ClinicRoomDeps {
  rooms: RoomsRepo;
  scene: SceneRepo;
  tickets: TicketService;
  live: LiveRooms;
  logger: Logger;
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
 * keeps the participant list, and hands every message to the Dispatcher.
 * Rules live in the dispatcher, its commands and the policy module.
 */
export function defineClinicRoom(deps: ClinicRoomDeps) {
  return class ClinicRoom extends Room<{ state: ClinicState; client: ClinicClient }> implements LiveRoomHandle {
    override state = new ClinicState();
    override maxClients = 64;
    // Backstop only: the dispatcher's token bucket answers RATE_LIMITED long before this.
    override maxMessagesPerSecond = 2000;
    override patchRate = 1000 / 30;

    private record!: RoomRecord;
    private scene!: SceneStore;
    private dispatcher!: Dispatcher;

    /** Runs during matchmaking, before any seat is reserved. */
    static override async onAuth(token: string, options: unknown, _context: AuthContext): Promise<TicketClaims> {
      const join = JoinOptions.safeParse(options);
      if (!join.success) throw refuse(new AppError('BODY_INVALID', 'join options must be { room, protocolVersion }'));
      if (join.data.protocolVersion !== PROTOCOL_VERSION) {
        throw refuse(new AppError('PROTOCOL_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}`));
      }
      try {
        return await deps.tickets.verify(token, join.data.room);
      } catch (err) {
        throw refuse(err);
      }
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

      this.scene = new SceneStore(roomId, deps.scene, this.state.objects);
      // A previous instance of this room may still be writing its last moves.
      await deps.live.settled(roomId);
      await this.scene.load();
      this.dispatcher = new Dispatcher({ state: this.state, scene: this.scene });

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

    override onJoin(client: ClinicClient): void {
      const claims = client.auth!;
      const invited = this.record.participants.some((p) => p.userId === claims.sub);
      if (!invited && !claims.admin) throw refuse(new AppError('NOT_INVITED'));
      const p = new ParticipantState();
      p.sessionId = client.sessionId;
      p.userId = claims.sub;
      p.name = claims.name;
      p.role = claims.role;
      this.state.participants.set(client.sessionId, p);
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
      const p = this.state.participants.get(client.sessionId);
      if (p) p.connected = true;
    }

    override onLeave(client: ClinicClient): void {
      this.releaseLocks(client.sessionId);
      this.dispatcher.forget(client.sessionId);
      this.state.participants.delete(client.sessionId);
    }

    override onBeforeShutdown(): void {
      // Persist first, then let Colyseus disconnect everyone (onDispose flushes again).
      void this.flush()
        .catch((err: unknown) => deps.logger.error({ err, roomId: this.record.id }, 'scene flush failed at shutdown'))
        .finally(() => super.onBeforeShutdown());
    }

    override async onDispose(): Promise<void> {
      const flushed = this.flush().catch((err: unknown) => {
        deps.logger.error({ err, roomId: this.record.id }, 'scene flush failed when the room closed');
      });
      deps.live.unregister(this.record.id, this, flushed);
      await flushed;
    }

    // ---- LiveRoomHandle --------------------------------------------------------

    applyRoomChanges(record: RoomRecord): void {
      this.record = record;
      this.applyInfo(record);
      const invited = new Set(record.participants.map((p) => p.userId));
      for (const client of this.clients) {
        if (!invited.has(client.auth!.sub) && !client.auth!.admin) client.leave(CloseCodes.REMOVED, 'NOT_INVITED');
      }
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

    private applyInfo(record: RoomRecord): void {
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
