import type { ErrorCode } from '../../shared/src/errors.ts';
import { AnchorState, ClinicState, ParticipantState, SceneObjectState } from '../../shared/src/state.ts';
import type { ClinicSession, ConnectionStatus } from '../../client/src/sdk/session.ts';

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * An in-memory stand-in for the SDK's ClinicSession at the client controllers' boundary (RoomSession,
 * SurgeonSession): a real ClinicState the test fills, every request recorded, replies the test chooses
 * (default ok), and the events (joins, leaves, status, highlights) fired by hand.
 */
export class FakeSession {
  sessionId = 'me';
  readonly state = new ClinicState();
  status: ConnectionStatus = 'connected';
  /** Every request sent, in order. */
  readonly sent: { type: string; payload: unknown }[] = [];
  /** Replies to hand out per message type, first first; when none is queued the reply is `{ ok: true }`. */
  private readonly replies = new Map<string, Record<string, unknown>[]>();
  private readonly joins = new Set<Listener<[ParticipantState, string]>>();
  private readonly leaves = new Set<Listener<[ParticipantState, string]>>();
  private readonly statuses = new Set<Listener<[ConnectionStatus, number?]>>();
  private readonly highlights = new Set<Listener<[string]>>();
  left = 0;
  claims = 0;
  poses: unknown[] = [];

  /** Queue a refusal for the next request of this type. */
  refuse(type: string, code: ErrorCode, message = `refused: ${code}`): void {
    this.answer(type, { ok: false, error: { code, message } });
  }

  /** Queue a reply for the next request of this type. */
  answer(type: string, reply: Record<string, unknown>): void {
    this.replies.set(type, [...(this.replies.get(type) ?? []), reply]);
  }

  sentOf(type: string): unknown[] {
    return this.sent.filter((s) => s.type === type).map((s) => s.payload);
  }

  private async reply(type: string, payload: unknown): Promise<never> {
    this.sent.push({ type, payload });
    await Promise.resolve(); // replies come back later than the call, as over a socket
    const queued = this.replies.get(type)?.shift();
    return (queued ?? { ok: true }) as never;
  }

  // ---- the ClinicSession surface the controllers use --------------------------------------------

  participants(): ParticipantState[] {
    return [...this.state.participants.values()];
  }

  objects(): SceneObjectState[] {
    return [...this.state.objects.values()];
  }

  request = ((type: string, payload: unknown) => this.reply(type, payload)) as ClinicSession['request'];
  add = ((object: unknown) => this.reply('object.add', object)) as ClinicSession['add'];
  remove = ((objectId: string) => this.reply('object.remove', { objectId })) as ClinicSession['remove'];
  grab = ((objectId: string) => this.reply('object.grab', { objectId })) as ClinicSession['grab'];
  release = ((objectId: string, transform?: unknown) => this.reply('object.release', { objectId, transform })) as ClinicSession['release'];

  /** Like the SDK's: fires for those already here too. */
  onParticipantJoin(cb: Listener<[ParticipantState, string]>): () => void {
    this.state.participants.forEach((p, sid) => cb(p, sid));
    this.joins.add(cb);
    return () => this.joins.delete(cb);
  }

  onParticipantLeave(cb: Listener<[ParticipantState, string]>): () => void {
    this.leaves.add(cb);
    return () => this.leaves.delete(cb);
  }

  onStatus(cb: Listener<[ConnectionStatus, number?]>): () => void {
    this.statuses.add(cb);
    return () => this.statuses.delete(cb);
  }

  leave(): Promise<number> {
    this.left++;
    return Promise.resolve(4000);
  }

  readonly avatars = {
    claim: () => {
      this.claims++;
      return { send: (pose: unknown) => void this.poses.push(pose), release: () => void this.claims-- };
    },
  };

  /** The guidance channel, read from the same state the server would sync. */
  readonly guidance = {
    anchor: () => {
      const a = this.state.anchor;
      return { version: a.version, p: [a.px, a.py, a.pz] as [number, number, number], q: [a.qx, a.qy, a.qz, a.qw] as [number, number, number, number] };
    },
    focus: () => this.objects().find((o) => o.focused) ?? null,
    pending: () => this.objects().filter((o) => o.frame !== 'world' && o.ackedAt === 0 && !o.dismissed),
    onHighlight: (cb: Listener<[string]>) => {
      this.highlights.add(cb);
      return () => this.highlights.delete(cb);
    },
    setAnchor: (pose: unknown) => this.reply('anchor.set', { pose }),
    ack: (objectId: string) => this.reply('guidance.ack', { objectId }),
    dismiss: (objectId: string) => this.reply('guidance.dismiss', { objectId }),
    next: () => this.reply('guidance.next', {}),
    repeat: () => this.reply('guidance.repeat', {}),
  };

  // ---- what the server would do ------------------------------------------------------------------

  join(sessionId: string, fields: { userId: string; name: string; role: string; connected?: boolean; voiceConnected?: boolean; muted?: boolean }): ParticipantState {
    const p = new ParticipantState();
    Object.assign(p, { sessionId, slot: this.state.participants.size, ...fields });
    this.state.participants.set(sessionId, p);
    this.joins.forEach((cb) => cb(p, sessionId));
    return p;
  }

  drop(sessionId: string): void {
    const p = this.state.participants.get(sessionId);
    if (!p) return;
    this.state.participants.delete(sessionId);
    this.leaves.forEach((cb) => cb(p, sessionId));
  }

  put(id: string, fields: Partial<Omit<SceneObjectState, 'id'>>): SceneObjectState {
    const o = new SceneObjectState();
    Object.assign(o, { id, kind: 'model', asset: 'builtin:heart', label: '', createdBy: '', grabbedBy: '', points: '', color: '', px: 0, py: 0, pz: 0, qx: 0, qy: 0, qz: 0, ...fields });
    this.state.objects.set(id, o);
    return o;
  }

  setAnchorState(version: number, p: [number, number, number] = [0, 0, 0]): void {
    const a = new AnchorState();
    Object.assign(a, { version, px: p[0], py: p[1], pz: p[2] });
    this.state.anchor = a;
  }

  setStatus(s: ConnectionStatus, code?: number): void {
    this.status = s;
    this.statuses.forEach((cb) => cb(s, code));
  }

  highlight(objectId: string): void {
    this.highlights.forEach((cb) => cb(objectId));
  }
}
