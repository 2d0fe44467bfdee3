import { Callbacks, type Room } from '@colyseus/sdk';
import type { ErrorBody } from '../../../shared/src/errors.ts';
import type { ClientMessage, ClientMessageName, ClientReply, PoseUpdate } from '../../../shared/src/messages.ts';
import { ServerMessageNames, type ClinicRoomType, type ErrorNotice, type Reply } from '../../../shared/src/protocol.ts';
import type { AccessRequestState, ClinicState, ParticipantState, SceneObjectState } from '../../../shared/src/state.ts';
import type { CaseResourceType, FhirResource } from '../../../shared/src/fhir.ts';
import { ConsiliumError } from './errors.ts';
import { GuidanceChannel } from './guidance.ts';
import { AvatarStream, type AvatarPose } from './avatars.ts';
import { DecisionSupport } from './cds.ts';
import { ReplayGhostStream } from './replay-ghosts.ts';

export type ConnectionStatus = 'connected' | 'reconnecting' | 'closed';
/** A joined clinic room as Colyseus' SDK types it: payloads, replies and server messages all from shared/src/protocol.ts. */
export type ClinicRoom = Room<ClinicRoomType, ClinicState>;

/** The one typed request path (the session's and the guidance channel's senders share it). */
export function requestOn<N extends ClientMessageName>(room: ClinicRoom, type: N, payload: ClientMessage<N>): Promise<Reply<ClientReply<N>>> {
  // Colyseus infers the reply per message name; a generic N widens it to the union, which is this type.
  return room.request(type, payload as never) as Promise<Reply<ClientReply<N>>>;
}
export type { AvatarPose };

/**
 * A joined Consilium room: typed senders for every message, the synced state,
 * and callbacks. Acknowledged actions (grab, release, add, remove) resolve
 * with the server's reply; poses and moves are fire-and-forget streams whose
 * errors arrive through `onError`.
 */
export class ClinicSession {
  readonly callbacks: ReturnType<typeof Callbacks.get<ClinicState>>;
  private statusListeners = new Set<(s: ConnectionStatus, code?: number) => void>();
  private errorListeners = new Set<(e: ErrorNotice) => void>();
  status: ConnectionStatus = 'connected';
  /** Surgical guidance: link probes, relayed pointers, hands-free commands. */
  readonly guidance: GuidanceChannel;
  /** Avatar poses on their binary path, with interpolation. */
  readonly avatars: AvatarStream;
  /** Decision-support cards (CDS Hooks): mine, and those shared with the room. */
  readonly cds: DecisionSupport;
  /** A replay room's recorded avatars (ghosts), with interpolation at any replay position. */
  readonly replayGhosts: ReplayGhostStream;

  constructor(readonly room: ClinicRoom) {
    this.callbacks = Callbacks.get(room);
    this.guidance = new GuidanceChannel(room);
    this.avatars = new AvatarStream(room);
    this.cds = new DecisionSupport(room);
    this.replayGhosts = new ReplayGhostStream(room);
    room.onMessage(ServerMessageNames.error, (notice) => this.errorListeners.forEach((l) => l(notice)));
    room.onDrop(() => this.setStatus('reconnecting'));
    room.onReconnect(() => this.setStatus('connected'));
    room.onLeave((code) => this.setStatus('closed', code));
    // Slots are reused only long after a leaver's; forget their poses all the same.
    this.onParticipantLeave((p) => this.avatars.forget(p.slot));
  }

  get sessionId(): string {
    return this.room.sessionId;
  }

  get state(): ClinicState {
    return this.room.state;
  }

  /** Resolves once the first full state has arrived. */
  ready(): Promise<ClinicState> {
    if (this.room.state?.info?.roomId) return Promise.resolve(this.room.state);
    return new Promise((resolve) => this.room.onStateChange.once((s) => resolve(s)));
  }

  // ---- senders -----------------------------------------------------------------

  /** My avatar's pose (head, and hands when tracked). Call as often as you like: it goes out at up to 30 Hz. */
  sendPose(pose: PoseUpdate): void {
    this.avatars.send(pose);
  }

  move(objectId: string, transform: ClientMessage<'object.move'>['transform']): void {
    this.room.send('object.move', { objectId, transform });
  }

  grab(objectId: string) {
    return this.request('object.grab', { objectId });
  }

  release(objectId: string, transform?: ClientMessage<'object.release'>['transform']) {
    return this.request('object.release', transform ? { objectId, transform } : { objectId });
  }

  add(object: ClientMessage<'object.add'>) {
    return this.request('object.add', object);
  }

  remove(objectId: string) {
    return this.request('object.remove', { objectId });
  }

  /** Request-style send of any message; resolves with its reply, typed by the protocol (shared/src/messages.ts `ClientReplies`). */
  request<N extends ClientMessageName>(type: N, payload: ClientMessage<N>): Promise<Reply<ClientReply<N>>> {
    return requestOn(this.room, type, payload);
  }

  /** Like request(), but throws ConsiliumError when the server refuses. */
  async do<N extends ClientMessageName>(type: N, payload: ClientMessage<N>): Promise<ClientReply<N>> {
    const reply = await this.request(type, payload);
    if (!reply.ok) throw toError(reply.error);
    const { ok: _ok, ...value } = reply;
    return value as unknown as ClientReply<N>;
  }

  // ---- state helpers -----------------------------------------------------------

  participants(): ParticipantState[] {
    return [...this.state.participants.values()];
  }

  objects(): SceneObjectState[] {
    // An entry whose fields have not arrived (a view change in the same patch as the object's) is nothing yet.
    return [...this.state.objects.values()].filter((o) => typeof o.id === 'string');
  }

  /** The case resources this participant may see, exactly as the server sent them. */
  caseResources(type?: CaseResourceType): FhirResource[] {
    const out: FhirResource[] = [];
    this.state.caseEntries.forEach((e) => {
      if (!type || e.resourceType === type) out.push(JSON.parse(e.json) as FhirResource);
    });
    return out;
  }

  /** The case resource a model shows, in the form this participant may see (null: none, or not for you). */
  resourceOf(objectId: string): FhirResource | null {
    let found: FhirResource | null = null;
    this.state.caseEntries.forEach((e) => {
      if (!found && e.objects && e.objects.split(' ').includes(objectId)) found = JSON.parse(e.json) as FhirResource;
    });
    return found;
  }

  /** true when the server sends this participant only de-identified copies. */
  get deidentified(): boolean {
    let any = false;
    let deid = true;
    this.state.caseEntries.forEach((e) => {
      any = true;
      deid &&= e.variant === 'deidentified';
    });
    return any && deid;
  }

  accessRequests(): AccessRequestState[] {
    return [...this.state.accessRequests.values()];
  }

  /** Ask for emergency access to more resource types (reason required). */
  breakGlass(resourceTypes: CaseResourceType[], reason: string) {
    return this.request('access.breakGlass', { resourceTypes, reason });
  }

  approve(requestId: string) {
    return this.request('access.approve', { requestId });
  }

  deny(requestId: string, reason?: string) {
    return this.request('access.deny', reason ? { requestId, reason } : { requestId });
  }

  /**
   * A participant's avatar as it should be drawn now: interpolated through a
   * small jitter buffer (`interpolate: false` gives the latest pose received).
   * null until their first pose arrives.
   */
  avatarPose(p: ParticipantState, options: { interpolate?: boolean } = {}): AvatarPose | null {
    return this.avatars.pose(p.slot, options.interpolate ?? true);
  }

  /**
   * The server's clock as this client estimates it: from a replay's frames in a replay room,
   * from the link probes in a guidance room, else the local clock (ms).
   */
  serverNow(): number {
    return this.replayGhosts.serverNow() ?? this.guidance.serverNow();
  }

  /**
   * A recorded participant of a replay (its `replay.ghosts` key, `g<n>`) as it should be drawn
   * at `positionMs` of the recording; null before its first recorded pose.
   */
  ghostPose(key: string, positionMs: number): AvatarPose | null {
    const n = Number(key.slice(1));
    return Number.isInteger(n) ? this.replayGhosts.pose(n, positionMs) : null;
  }

  // ---- typed state callbacks (fire for existing entries too) ---------------------

  onParticipantJoin(cb: (p: ParticipantState, sessionId: string) => void): () => void {
    return this.callbacks.onAdd('participants', cb);
  }

  onParticipantLeave(cb: (p: ParticipantState, sessionId: string) => void): () => void {
    return this.callbacks.onRemove('participants', cb);
  }

  onObjectAdd(cb: (o: SceneObjectState, id: string) => void): () => void {
    return this.callbacks.onAdd('objects', cb);
  }

  onObjectRemove(cb: (o: SceneObjectState, id: string) => void): () => void {
    return this.callbacks.onRemove('objects', cb);
  }

  /** Any field of this object changed (moved, grabbed, released). */
  onObjectChange(obj: SceneObjectState, cb: () => void): () => void {
    return this.callbacks.onChange(obj, cb);
  }

  // ---- events ------------------------------------------------------------------

  onError(listener: (e: ErrorNotice) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onStatus(listener: (s: ConnectionStatus, code?: number) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  leave(): Promise<number> {
    return this.room.leave(true);
  }

  private setStatus(s: ConnectionStatus, code?: number): void {
    this.status = s;
    this.statusListeners.forEach((l) => l(s, code));
  }
}

function toError(e: ErrorBody): ConsiliumError {
  return new ConsiliumError(e.code, e.message, undefined, e.details);
}
