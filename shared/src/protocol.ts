import { z } from 'zod';
import type { CdsCardsMessage, CdsSharedMessage } from './cds.ts';
import type { ErrorBody } from './errors.ts';
import type { LinkPing, RelayedPointer } from './guidance.ts';
import type { ClientMessage, ClientMessageName, ClientReply } from './messages.ts';
import type { POSE_FRAME } from './pose-wire.ts';
import type { REPLAY_POSE_FRAME } from './replay-wire.ts';
import type { ClinicState } from './state.ts';

/**
 * Wire protocol version. The server refuses joins from clients on another
 * major version with PROTOCOL_MISMATCH; bump it on any breaking change to
 * messages, state or join options.
 */
export const PROTOCOL_VERSION = 5;

/** Colyseus room name for every Consilium room. */
export const CLINIC_ROOM = 'clinic';

/**
 * Options of a join. Clients call `joinById(<Consilium room id>, { protocolVersion })`;
 * the server sets `room` to the id joined, whatever the client sent.
 */
export const JoinOptions = z.object({
  /** Consilium room id (= the Colyseus room id). */
  room: z.string().uuid(),
  protocolVersion: z.number().int(),
});
export type JoinOptions = z.infer<typeof JoinOptions>;

/** Server → client messages. */
export const ServerMessageNames = {
  /** An error for a fire-and-forget message (requests get it as their reply). */
  error: 'error',
} as const;

/**
 * Every server → client message, by name, with its payload: the engine's
 * transport sends only these (rooms/clinic.ts `SeatTransport`), and the SDK's
 * `room.onMessage` is typed by them. Pose frames are bytes (pose-wire.ts), and
 * so are a replay's recorded avatars (replay-wire.ts).
 */
export type ServerMessages = {
  error: ErrorNotice;
  'guidance.pointer': RelayedPointer;
  'guidance.highlight': { objectId: string };
  'link.ping': LinkPing;
  /** Decision-support cards computed for this participant only (shared/src/cds.ts). */
  'cds.cards': CdsCardsMessage;
  /** A card someone shared with the room (its text only where the recipient's access covers it). */
  'cds.shared': CdsSharedMessage;
} & Record<typeof POSE_FRAME, Uint8Array> & Record<typeof REPLAY_POSE_FRAME, Uint8Array>;
export type ServerMessageName = keyof ServerMessages;

/**
 * The clinic room as Colyseus' SDK types a room (its `~state`, `messages` and
 * `~client.~messages` conventions, @colyseus/shared-types): `Room<ClinicRoomType>`
 * infers every request's payload and reply and every server message's payload,
 * without the client importing server code.
 */
export interface ClinicRoomType {
  '~state': ClinicState;
  state: ClinicState;
  onJoin(client: unknown, options: { protocolVersion: number }): void;
  messages: { [N in ClientMessageName]: (client: unknown, message: ClientMessage<N>) => Reply<ClientReply<N>> };
  '~client': { '~messages': ServerMessages };
}

export interface ErrorNotice extends ErrorBody {
  /** The message type that caused it. */
  type: string;
}

/** Reply to a request-style message (`room.request(type, payload)`). */
export type Reply<T = Record<string, never>> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

/** Limits shared by client and server so the client can pre-validate. */
export const Limits = {
  /** Positions are clamped into a cube of this half-extent (metres). */
  roomHalfExtent: 50,
  minScale: 0.01,
  maxScale: 20,
  maxObjects: 500,
  /** Objects one participant may have in a scene (so one person cannot fill it for everyone). */
  maxObjectsPerAuthor: 100,
  /** Sustained messages per second per client before RATE_LIMITED. */
  messagesPerSecond: 90,
  messageBurst: 180,
  /** Largest WebSocket frame a client may send; every valid message fits (tests/unit/frame-size.test.ts). */
  maxFrameBytes: 16 * 1024,
  /** Frames above maxFrameBytes up to this are refused (MESSAGE_INVALID) and the socket kept; above it the WebSocket closes with 1009. */
  maxSocketFrameBytes: 256 * 1024,
} as const;
