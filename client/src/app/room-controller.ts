import { acknowledgementText, acknowledgerOf } from '../../../shared/src/guidance.ts';
import type { TicketResponse } from '../../../shared/src/http.ts';
import { CloseCodes } from '../../../shared/src/errors.ts';
import type { RoomKind, RoomRole } from '../../../shared/src/roles.ts';
import { authorizeRoomAction, objectContext, videoGrant, voiceGrant, type RoomAction, type RoomActionContext } from '../../../shared/src/room-policy.ts';
import type { ParticipantState } from '../../../shared/src/state.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { KEY_NUDGES, transformOf, type Transform } from './nudges.ts';
import { REPLAY_CLOSED, REPLAY_WITHDRAWN, TERMINAL_CLOSE } from './plain-errors.ts';
import { HIDDEN_REASON, hiddenSummary, objectName, objectPlace, textHidden } from './scene-list.ts';

/** What the room screen uses of the SDK session: a fake with a real ClinicState drives it in unit tests. */
export type RoomSession = Pick<
  ClinicSession,
  'sessionId' | 'state' | 'participants' | 'objects' | 'request' | 'add' | 'remove' | 'grab' | 'release' | 'onParticipantJoin' | 'onParticipantLeave' | 'onStatus' | 'leave'
>;

export type ToolName = 'move' | 'draw' | 'laser';
export type StatusTone = 'ok' | 'warn' | '';

/** How a closed connection ends the room screen: back to the list (with a reason), or a fresh ticket and rejoin. */
export type RoomEnd = { then: 'leave'; message?: string } | { then: 'rejoin' };

/** What the controller asks of the page: it never touches the DOM itself. */
export interface RoomOutputs {
  status(text: string, tone?: StatusTone): void;
  announce(text: string): void;
  /** Something the views show changed outside a state patch (selection, an error, voice). */
  changed(): void;
  /** The connection closed for good; the page tears down, then leaves or rejoins. */
  ended(how: RoomEnd): void;
}

export interface PersonRow {
  userId: string;
  /** The seat to look at: a connected one where there is one. */
  sessionId: string;
  name: string;
  role: string;
  isMe: boolean;
  devices: number;
  reconnecting: boolean;
  speaking: boolean;
  presenting: boolean;
  /** 'voice' or 'muted' while in voice (and voice is on here), else null. */
  voiceBadge: 'voice' | 'muted' | null;
  canKick: boolean;
  canMute: boolean;
}

export interface ObjectRow {
  id: string;
  name: string;
  place: string;
  /** Who holds it (grabbed), by name. */
  heldBy: string | null;
  /** Guidance: who acknowledged it, named ("Acknowledged by Dr. Adams (host)" is not the surgeon having seen it); null: nobody yet. */
  acknowledged: string | null;
  selected: boolean;
  x: number;
  /** Its free text is not for this viewer (a placeholder shows the author and the reason). */
  hidden: boolean;
}

export interface ToolButton {
  tool: ToolName;
  label: string;
  hint: string;
  enabled: boolean;
}

/**
 * The room screen's state and decisions, without sockets or DOM: what this role is offered (asked of
 * the server's own room-action table, shared/src/room-policy.ts — the server still decides), the people and
 * scene lists, keyboard nudges, presenting and following, voice and video offers, the error lines,
 * and what a dropped or closed connection means.
 */
export class RoomController {
  readonly role: RoomRole;
  selected: string | null = null;
  objectError = '';
  peopleError = '';
  follow = false;
  voiceJoined = false;
  cameraShared = false;
  private speaking = new Set<string>();
  private leaving = false;
  private offs: (() => void)[] = [];
  /** Last transform this client sent per object: a nudge builds on it while the state patch may lag. */
  private sent = new Map<string, { t: Transform; at: number }>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: RoomSession,
    private readonly ticket: Pick<TicketResponse, 'role' | 'voice' | 'video'>,
    private readonly out: RoomOutputs,
    private readonly now: () => number = Date.now,
  ) {
    this.role = ticket.role;
  }

  /** Subscribe to the session: join/leave announcements (not for those already here) and connection status. */
  start(): void {
    let initial = true;
    const me = this.session.sessionId;
    this.offs.push(
      this.session.onParticipantJoin((p, sid) => {
        if (!initial && sid !== me) this.out.announce(`${p.name} joined the room.`);
      }),
      this.session.onParticipantLeave((p, sid) => {
        if (sid !== me) this.out.announce(`${p.name} left the room.`);
      }),
      this.session.onStatus((s, code) => this.onStatus(s, code)),
    );
    initial = false;
    this.out.status(this.connectedText(), 'ok');
  }

  dispose(): void {
    this.offs.forEach((off) => off());
    this.offs = [];
  }

  /** The user left on purpose: the close that follows is not a lost connection. */
  leave(): Promise<void> {
    this.leaving = true;
    return this.session.leave().then(() => {}, () => {});
  }

  private onStatus(s: string, code?: number): void {
    if (s === 'connected') {
      this.out.status(this.connectedText(), 'ok');
      this.out.announce('Connection restored.');
    } else if (s === 'reconnecting') this.out.status('Reconnecting…', 'warn');
    if (s !== 'closed' || this.leaving) return;
    const replay = this.session.state.info.kind === 'replay';
    const terminal = replay && code === CloseCodes.REMOVED ? REPLAY_WITHDRAWN : replay && code === CloseCodes.ROOM_CLOSED ? REPLAY_CLOSED : code !== undefined ? TERMINAL_CLOSE[code] : undefined;
    if (terminal) {
      this.out.status('Not in a room');
      this.out.ended({ then: 'leave', message: terminal });
    } else if (code === 4000) this.out.ended({ then: 'leave' }); // a consented leave (this page's own, e.g. on pagehide): nothing to rejoin
    else this.out.ended({ then: 'rejoin' });
  }

  private connectedText(): string {
    return 'Connected' + (this.session.state.info.voice === 'degraded' ? ' · voice degraded' : '');
  }

  // ---- what this role is offered ------------------------------------------------------------

  /** Would the server allow this act of ours now? The same table it decides with; it still decides. */
  may(action: RoomAction, ctx: RoomActionContext = {}): boolean {
    return authorizeRoomAction(this.role, action, { roomKind: this.kind, ...ctx }).allow;
  }

  private get kind(): RoomKind {
    return this.session.state.info.kind as RoomKind;
  }

  private get myUserId(): string {
    return this.session.state.participants.get(this.session.sessionId)?.userId ?? '';
  }

  /** Add to the scene, draw, annotate. */
  get canEdit(): boolean {
    return this.may('object.add');
  }

  /** Clear everyone's annotations (not only one's own). */
  get mayClearAll(): boolean {
    return this.may('guidance.clear', { clearAll: true });
  }

  get mayAskEmergencyAccess(): boolean {
    return this.may('access.breakGlass');
  }

  /** Approve or deny this user's emergency-access request (never one's own). */
  mayDecide(requesterUserId: string): boolean {
    return this.may('access.approve', { targetSelf: requesterUserId === this.myUserId }) && this.may('access.deny');
  }

  /** Decides others' emergency-access requests (the host): offered the alert chime. */
  get decidesRequests(): boolean {
    return this.may('access.approve', { targetSelf: false }) && this.may('access.deny');
  }

  /**
   * Guidance rooms: the server's link warning ('' when every guiding link is fine) and each measured seat's
   * round trip, so a specialist at a desk sees what the surgeon's headset says ("Dr. Cut (surgeon) is slow
   * (401 ms) — pointers are not live"). null outside guidance rooms.
   */
  linkStatus(): { warning: string; links: { name: string; role: string; rttMs: number; ok: boolean }[] } | null {
    if (!this.guidanceRoom) return null;
    const links = this.session.participants()
      .filter((p) => p.connected && p.rttMs > 0 && p.sessionId !== this.session.sessionId)
      .map((p) => ({ name: p.name, role: p.role, rttMs: p.rttMs, ok: p.linkOk }));
    return { warning: this.session.state.info.linkWarning, links };
  }

  /** This role's grant in the surgeon's video room (null: none). */
  private get video() {
    return videoGrant(this.role, this.kind, { observerVideo: false });
  }

  get title(): string {
    return this.session.state.info.title;
  }

  get guidanceRoom(): boolean {
    return this.session.state.info.kind === 'surgical-guidance';
  }

  /**
   * The surgeon's video panel: for those the server gave a video token (videoGrant in policy.ts), and where the
   * server has no media service at all (so annotations stay visible). The surgeon publishes instead of watching.
   */
  get showsVideoPanel(): boolean {
    return this.guidanceRoom && this.video?.canPublish !== true && (this.ticket.video !== null || this.ticket.voice === null);
  }

  /** Why the panel has no picture before any stream, when the server has no video service. */
  get videoUnavailableText(): string | null {
    return this.showsVideoPanel && !this.ticket.video ? 'This server has no video service (LiveKit is not configured).' : null;
  }

  get offersCamera(): boolean {
    return this.video?.canPublish === true && !!this.ticket.video && !this.cameraShared;
  }

  cameraStarted(): void {
    this.cameraShared = true;
    this.out.changed();
  }

  tools(): ToolButton[] {
    return [
      { tool: 'move', label: 'Move', hint: 'Drag a model to move it; drag elsewhere to look around', enabled: true },
      { tool: 'draw', label: 'Draw', hint: this.canEdit ? 'Drag to draw a stroke on the models or table' : 'Observers cannot draw', enabled: this.canEdit },
      { tool: 'laser', label: 'Laser', hint: this.may('pointer.update') ? 'Point at something for everyone to see' : 'Only those guiding the surgeon point here', enabled: this.may('pointer.update') },
    ];
  }

  // ---- recording (teaching) ------------------------------------------------------------------

  /** Everyone sees that the room records. */
  get recording(): boolean {
    return this.session.state.info.recording !== '';
  }

  /** The host records where an administrator allowed it (never a replay). */
  get offersRecording(): boolean {
    const info = this.session.state.info;
    return this.role === 'host' && info.recordingAllowed && info.kind !== 'replay';
  }

  /** What came of the host's last Record / Stop recording: where the saved recording went, or why it was refused. */
  recordingNote = '';

  async toggleRecording(): Promise<void> {
    const stopping = this.recording;
    const reply = await this.session.request(stopping ? 'recording.stop' : 'recording.start', {});
    if (!reply.ok) this.recordingNote = `The recording did not ${stopping ? 'stop' : 'start'}: ${reply.error.message}`;
    else this.recordingNote = stopping ? 'Recording saved: it is in Teaching recordings (room list).' : '';
  }

  // ---- presenting and following -------------------------------------------------------------

  get presenting(): boolean {
    return this.session.state.info.presenter === this.session.sessionId;
  }

  /** Take the floor (when free, or for the host always) or hand it back. */
  get mayTogglePresent(): boolean {
    const p = this.session.state.info.presenter;
    return this.may('presenter.set', { presenterSelf: true, presenterTakenByOther: p !== '' && p !== this.session.sessionId });
  }

  get presentHint(): string {
    if (this.mayTogglePresent) return 'Others can follow your view';
    return this.may('presenter.set', { presenterSelf: true, presenterTakenByOther: false }) ? 'Someone else is presenting' : 'Observers cannot present';
  }

  /** Present, or stop presenting (the button is disabled when the server would refuse). */
  togglePresent(): Promise<unknown> {
    return this.session.request('presenter.set', { sessionId: this.presenting ? null : this.session.sessionId });
  }

  setFollow(on: boolean): void {
    this.follow = on;
  }

  /** Whose view this client follows now: only another participant's, and only when asked to. */
  get following(): string | null {
    const p = this.session.state.info.presenter;
    return this.follow && p && p !== this.session.sessionId ? p : null;
  }

  // ---- voice --------------------------------------------------------------------------------

  /** Voice is offered only when the server gave a voice token and the room has voice. */
  get voiceOn(): boolean {
    return !!this.ticket.voice && this.session.state.info.voice !== 'off';
  }

  get offersJoinVoice(): boolean {
    return this.voiceOn && !this.voiceJoined;
  }

  /** Observers listen only (voiceGrant). */
  get mayPublishVoice(): boolean {
    return voiceGrant(this.role, this.kind).canPublish;
  }

  get offersMic(): boolean {
    return this.voiceJoined && this.mayPublishVoice;
  }

  voiceStarted(): void {
    this.voiceJoined = true;
    this.out.changed();
  }

  setSpeakers(userIds: Iterable<string>): void {
    this.speaking = new Set(userIds);
    this.out.changed();
  }

  // ---- people -------------------------------------------------------------------------------

  /** One row per person (a person may be in on a desktop and a headset); moderation acts on all their seats. */
  people(): PersonRow[] {
    const mine = this.session.state.participants.get(this.session.sessionId);
    const byUser = new Map<string, ParticipantState[]>();
    for (const p of this.session.participants()) byUser.set(p.userId, [...(byUser.get(p.userId) ?? []), p]);
    return [...byUser].map(([userId, seats]) => {
      const p = seats.find((s) => s.connected) ?? seats[0]!;
      const isMe = userId === mine?.userId;
      const target = { targetSelf: isMe, targetRole: p.role as RoomRole };
      return {
        userId,
        sessionId: p.sessionId,
        name: p.name,
        role: p.role,
        isMe,
        devices: seats.length,
        reconnecting: !seats.some((s) => s.connected),
        speaking: this.speaking.has(userId),
        presenting: seats.some((s) => s.sessionId === this.session.state.info.presenter),
        voiceBadge: this.voiceOn && seats.some((s) => s.voiceConnected) ? (seats.some((s) => s.muted) ? 'muted' : 'voice') : null,
        canKick: this.may('participant.kick', target),
        canMute: this.may('voice.mute', target) && this.voiceOn,
      };
    });
  }

  mute(userId: string): Promise<void> {
    return this.moderate('voice.mute', userId);
  }

  kick(userId: string): Promise<void> {
    return this.moderate('participant.kick', userId);
  }

  private async moderate(type: 'voice.mute' | 'participant.kick', userId: string): Promise<void> {
    const reply = await this.session.request(type, { userId });
    this.setPeopleError(reply.ok ? '' : reply.error.message);
  }

  // ---- the scene ----------------------------------------------------------------------------

  objects(): ObjectRow[] {
    const nameOf = (userId: string) => this.session.participants().find((p) => p.userId === userId)?.name;
    return this.session.objects().map((o) => ({
      id: o.id,
      name: objectName(o, nameOf),
      place: objectPlace(o),
      heldBy: o.grabbedBy ? this.session.state.participants.get(o.grabbedBy)?.name ?? null : null,
      acknowledged: o.ackedAt > 0 ? acknowledgementText(o, acknowledgerOf(this.session.participants(), o.ackedBy), (ms) => new Date(ms).toLocaleTimeString()) : null,
      selected: this.selected === o.id,
      x: o.px,
      hidden: textHidden(o),
    }));
  }

  /**
   * How many items on the table carry text this viewer's access does not reach ("1 note hidden by your access"),
   * so an empty-looking list is never mistaken for an empty table; null when nothing is hidden.
   */
  get hiddenText(): string | null {
    const s = hiddenSummary(this.session.objects()); // "… hidden"
    return s && `${s} ${HIDDEN_REASON.replace(/^hidden /, '')}`;
  }

  select(id: string | null): void {
    this.selected = id;
    this.out.changed();
  }

  /** A note above the selected object, or over the table's centre. */
  async addNote(text: string): Promise<void> {
    const target = this.selected ? this.session.state.objects.get(this.selected) : undefined;
    const at: [number, number, number] = target ? [target.px, target.py + 0.15, target.pz] : [0, 1.3, 0];
    const reply = await this.session.add({ kind: 'label', asset: 'builtin:pin', label: text.trim() || 'Note', transform: { position: at, rotation: [0, 0, 0, 1] } });
    this.setObjectError(reply.ok ? '' : reply.error.message);
  }

  /** A sample model, placed round the table so new ones do not stack. */
  async addModel(asset: string): Promise<void> {
    const angle = this.session.objects().length * 0.9;
    // No label: the model's name comes from its built-in asset, and a label is free text others may not read.
    const reply = await this.session.add({ kind: 'model', asset: `builtin:${asset}`, transform: { position: [Math.sin(angle) * 0.45, 1.05, Math.cos(angle) * 0.45], rotation: [0, 0, 0, 1] } });
    this.setObjectError(reply.ok ? '' : reply.error.message);
  }

  /**
   * A key pressed on an object's row: Delete/Backspace removes it, the KEY_NUDGES keys move, resize or turn it.
   * Returns whether the key was used (the view then stops the browser's default).
   */
  key(objectId: string, key: string): boolean {
    const o = this.session.state.objects.get(objectId);
    if (!o) return false;
    const facts = objectContext(o, this.myUserId);
    if (key === 'Delete' || key === 'Backspace') {
      if (!this.may('object.remove', facts)) return false;
      void this.session.remove(objectId).then((r) => this.setObjectError(r.ok ? '' : r.error.message));
      return true;
    }
    const change = KEY_NUDGES[key];
    if (!change || !this.may('object.grab', facts)) return false;
    void this.nudge(objectId, change);
    return true;
  }

  /**
   * Nudges run one at a time (a held arrow key repeats faster than a round trip), each starting from the last
   * transform this client sent, since the state patch may not be back yet. Resolves when this one is done.
   */
  nudge(objectId: string, change: (t: Transform) => Transform): Promise<void> {
    this.queue = this.queue.then(async () => {
      const o = this.session.state.objects.get(objectId);
      if (!o) return;
      const recent = this.sent.get(objectId);
      const next = change(recent && this.now() - recent.at < 2000 ? recent.t : transformOf(o));
      const grab = await this.session.grab(objectId);
      if (!grab.ok) return this.setObjectError(grab.error.message);
      const reply = await this.session.release(objectId, next);
      this.setObjectError(reply.ok ? '' : reply.error.message);
      if (reply.ok) this.sent.set(objectId, { t: next, at: this.now() });
    }).catch(() => {}); // a dropped connection: the status line says so, and the queue goes on
    return this.queue;
  }

  private setObjectError(text: string): void {
    this.objectError = text;
    this.out.changed();
  }

  private setPeopleError(text: string): void {
    this.peopleError = text;
    this.out.changed();
  }
}
