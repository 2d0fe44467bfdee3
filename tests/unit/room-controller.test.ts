import { describe, expect, it } from 'vitest';
import { RoomController, type RoomEnd, type RoomSession } from '../../client/src/app/room-controller.ts';
import { FakeSession } from '../support/fake-session.ts';

type Ticket = ConstructorParameters<typeof RoomController>[1];
const VOICE = { url: 'wss://lk.example', token: 't' };

function setup(role: string, opts: { voice?: boolean; video?: boolean; kind?: string; voiceState?: string } = {}) {
  const session = new FakeSession();
  session.state.info.title = 'Tumour board';
  session.state.info.kind = opts.kind ?? 'case-review';
  session.state.info.voice = opts.voiceState ?? (opts.voice ? 'ok' : 'off');
  session.join('me', { userId: 'u.me', name: 'Me', role });
  const ticket = { role, voice: opts.voice ? VOICE : null, video: opts.video ? VOICE : null } as Ticket;
  const log = { status: [] as [string, string | undefined][], announced: [] as string[], ended: [] as RoomEnd[], changed: 0 };
  let clock = 10_000;
  const ctl = new RoomController(session as unknown as RoomSession, ticket, {
    status: (text, tone) => log.status.push([text, tone]),
    announce: (text) => log.announced.push(text),
    changed: () => log.changed++,
    ended: (how) => log.ended.push(how),
  }, () => clock);
  return { session, ctl, log, tick: (ms: number) => (clock += ms) };
}

describe('RoomController: what each role is offered', () => {
  it('only editors may draw, present and change the scene; observers get the reason in the hint', () => {
    for (const role of ['host', 'clinician', 'specialist', 'surgeon']) {
      const { ctl } = setup(role);
      expect(ctl.canEdit, role).toBe(true);
      expect(ctl.tools().map((t) => [t.tool, t.enabled])).toEqual([['move', true], ['draw', true], ['laser', true]]);
    }
    const { ctl } = setup('observer');
    expect(ctl.canEdit).toBe(false);
    expect(ctl.tools().find((t) => t.tool === 'draw')).toMatchObject({ enabled: false, hint: 'Observers cannot draw' });
    expect(ctl.presentHint).toBe('Observers cannot present');
  });

  it('an observer pressing keys on an object sends nothing', async () => {
    const { ctl, session } = setup('observer');
    session.put('o1', {});
    expect(ctl.key('o1', 'Delete')).toBe(false);
    expect(ctl.key('o1', 'ArrowLeft')).toBe(false);
    await Promise.resolve();
    expect(session.sent).toEqual([]);
  });

  it('the video panel goes to watchers with a video token, and to everyone but the surgeon when the server has no media; the camera to the surgeon', () => {
    const guidance = { kind: 'surgical-guidance' };
    expect(setup('specialist', { ...guidance, video: true, voice: true }).ctl.showsVideoPanel).toBe(true);
    expect(setup('observer', { ...guidance, video: false, voice: true }).ctl.showsVideoPanel).toBe(false); // the room withholds video
    const noMedia = setup('observer', guidance).ctl;
    expect(noMedia.showsVideoPanel).toBe(true);
    expect(noMedia.videoUnavailableText).toBe('This server has no video service (LiveKit is not configured).');
    const surgeon = setup('surgeon', { ...guidance, video: true, voice: true }).ctl;
    expect(surgeon.showsVideoPanel).toBe(false);
    expect(surgeon.offersCamera).toBe(true);
    surgeon.cameraStarted();
    expect(surgeon.offersCamera).toBe(false);
    expect(setup('surgeon', { video: true, voice: true }).ctl.offersCamera).toBe(false); // not a guidance room
  });

  it('voice is offered only with a token and voice on in the room; observers listen without a microphone', () => {
    expect(setup('clinician', { voice: false }).ctl.offersJoinVoice).toBe(false);
    expect(setup('clinician', { voice: true, voiceState: 'off' }).ctl.offersJoinVoice).toBe(false);
    const { ctl, log } = setup('clinician', { voice: true });
    expect(ctl.offersJoinVoice).toBe(true);
    expect(ctl.offersMic).toBe(false);
    ctl.voiceStarted();
    expect([ctl.offersJoinVoice, ctl.offersMic, log.changed]).toEqual([false, true, 1]);
    const obs = setup('observer', { voice: true }).ctl;
    expect(obs.mayPublishVoice).toBe(false);
    obs.voiceStarted();
    expect(obs.offersMic).toBe(false);
  });
});

describe('RoomController: people', () => {
  it('one row per person across devices, connected seat first; the host may mute and kick others but not hosts or self', () => {
    const { ctl, session } = setup('host', { voice: true });
    session.join('s2', { userId: 'u.cli', name: 'Dr. Cli', role: 'clinician', connected: false });
    session.join('s3', { userId: 'u.cli', name: 'Dr. Cli', role: 'clinician', voiceConnected: true, muted: true });
    session.join('s4', { userId: 'u.h2', name: 'Co-host', role: 'host', connected: false });
    session.state.info.presenter = 's2';
    ctl.setSpeakers(['u.cli']);
    const rows = Object.fromEntries(ctl.people().map((r) => [r.userId, r]));
    expect(rows['u.me']).toMatchObject({ isMe: true, canKick: false, devices: 1 });
    expect(rows['u.cli']).toMatchObject({ sessionId: 's3', devices: 2, reconnecting: false, speaking: true, presenting: true, voiceBadge: 'muted', canKick: true, canMute: true });
    expect(rows['u.h2']).toMatchObject({ reconnecting: true, canKick: false, voiceBadge: null });
  });

  it('a clinician may moderate nobody; with voice off there is no Mute and no voice badge', () => {
    const cli = setup('clinician', { voice: true });
    cli.session.join('s2', { userId: 'u.o', name: 'O', role: 'observer' });
    expect(cli.ctl.people().every((r) => !r.canKick && !r.canMute)).toBe(true);
    const host = setup('host');
    host.session.join('s2', { userId: 'u.o', name: 'O', role: 'observer', voiceConnected: true });
    expect(host.ctl.people().find((r) => r.userId === 'u.o')).toMatchObject({ canKick: true, canMute: false, voiceBadge: null });
  });

  it('a refused kick shows the server’s message; the next success clears it', async () => {
    const { ctl, session } = setup('host');
    session.refuse('participant.kick', 'FORBIDDEN', 'Hosts cannot be removed');
    await ctl.kick('u.x');
    expect(ctl.peopleError).toBe('Hosts cannot be removed');
    await ctl.mute('u.x');
    expect(ctl.peopleError).toBe('');
    expect(session.sent).toEqual([{ type: 'participant.kick', payload: { userId: 'u.x' } }, { type: 'voice.mute', payload: { userId: 'u.x' } }]);
  });

  it('announces joins and leaves of others after the start, not those already here nor this seat', () => {
    const { ctl, session, log } = setup('clinician');
    session.join('s2', { userId: 'u.a', name: 'Already', role: 'observer' });
    ctl.start();
    session.join('s3', { userId: 'u.n', name: 'Newcomer', role: 'observer' });
    session.drop('s2');
    session.drop('me');
    expect(log.announced).toEqual(['Newcomer joined the room.', 'Already left the room.']);
    ctl.dispose();
    session.join('s4', { userId: 'u.z', name: 'After', role: 'observer' });
    expect(log.announced).toHaveLength(2);
  });
});

describe('RoomController: presenting and following', () => {
  it('Present asks to present; pressed again it stops', async () => {
    const { ctl, session } = setup('clinician');
    await ctl.togglePresent();
    session.state.info.presenter = 'me';
    expect(ctl.presenting).toBe(true);
    await ctl.togglePresent();
    expect(session.sentOf('presenter.set')).toEqual([{ sessionId: 'me' }, { sessionId: null }]);
  });

  it('follows only someone else presenting, and only when asked to', () => {
    const { ctl, session } = setup('observer');
    session.state.info.presenter = 's2';
    expect(ctl.following).toBe(null);
    ctl.setFollow(true);
    expect(ctl.following).toBe('s2');
    session.state.info.presenter = 'me';
    expect(ctl.following).toBe(null);
    session.state.info.presenter = '';
    expect(ctl.following).toBe(null);
  });
});

describe('RoomController: the scene', () => {
  it('lists objects with their names, places, holder and selection', () => {
    const { ctl, session } = setup('clinician');
    session.join('s2', { userId: 'u.a', name: 'Dr. Adams', role: 'clinician' });
    session.put('o1', { kind: 'stroke', createdBy: 'u.a', grabbedBy: 's2', py: 0.92 });
    ctl.select('o1');
    expect(ctl.objects()).toEqual([{ id: 'o1', name: 'Stroke by Dr. Adams', place: 'centre of the table, 0 cm above the table', heldBy: 'Dr. Adams', acknowledged: null, selected: true, x: 0, hidden: false }]);
  });

  it('a note whose text the server withheld is a placeholder with its author and the reason, and counted; a built-in model is named by its asset', () => {
    const { ctl, session } = setup('observer');
    session.join('s2', { userId: 'u.a', name: 'Dr. Adams', role: 'host' });
    session.put('heart', { kind: 'model', asset: 'builtin:heart', createdBy: 'u.a' });
    session.put('n1', { kind: 'label', asset: 'builtin:pin', createdBy: 'u.a', hasText: true, label: undefined as unknown as string });
    session.put('n2', { kind: 'label', asset: 'builtin:pin', createdBy: 'u.a', hasText: true, label: 'Ablation site' });
    session.put('s1', { kind: 'stroke', createdBy: 'u.a' });
    expect(ctl.objects().map((o) => [o.name, o.hidden])).toEqual([
      ['Heart model', false],
      ['Note by Dr. Adams — hidden by your access', true],
      ['Note “Ablation site”', false],
      ['Stroke by Dr. Adams', false],
    ]);
    expect(ctl.hiddenText).toBe('1 note hidden by your access');
    session.put('m1', { kind: 'model', asset: 'builtin:liver', createdBy: 'u.a', hasText: true, label: '' });
    session.put('n3', { kind: 'label', asset: 'builtin:pin', createdBy: 'u.a', hasText: true, label: '' });
    expect(ctl.hiddenText).toBe('2 notes and 1 label hidden by your access');
    session.state.objects.clear();
    expect(ctl.hiddenText).toBeNull();
  });

  it('adds a built-in model without a label (its name comes from the asset; a label would be free text)', async () => {
    const { ctl, session } = setup('clinician');
    await ctl.addModel('heart');
    expect(session.sentOf('object.add')).toEqual([expect.not.objectContaining({ label: expect.anything() })]);
  });

  it('guidance rooms: the link warning and each other seat\'s round trip; none outside guidance; the host decides requests', () => {
    const { ctl, session } = setup('specialist', { kind: 'surgical-guidance' });
    const cut = session.join('s2', { userId: 'u.c', name: 'Dr. Cut', role: 'surgeon' });
    Object.assign(cut, { rttMs: 401, linkOk: false });
    session.join('s3', { userId: 'u.h', name: 'Dr. Adams', role: 'host' }); // not measured yet: not listed
    session.state.info.linkWarning = 'Dr. Cut (surgeon) is slow (401 ms) — pointers are not live';
    expect(ctl.linkStatus()).toEqual({ warning: 'Dr. Cut (surgeon) is slow (401 ms) — pointers are not live', links: [{ name: 'Dr. Cut', role: 'surgeon', rttMs: 401, ok: false }] });
    expect(setup('specialist').ctl.linkStatus()).toBeNull();
    expect(ctl.decidesRequests).toBe(false);
    expect(setup('host').ctl.decidesRequests).toBe(true);
  });

  it('names who acknowledged a guidance annotation: a host is not the surgeon having seen it', () => {
    const { ctl, session } = setup('specialist');
    session.join('s2', { userId: 'u.h', name: 'Dr. Adams', role: 'host' });
    session.join('s3', { userId: 'u.s', name: 'Dr. Cut', role: 'surgeon' });
    session.put('o1', { kind: 'marker', createdBy: 'u.x', ackedAt: 1_800_000_000_000, ackedBy: 'u.h' });
    session.put('o2', { kind: 'marker', createdBy: 'u.x', ackedAt: 1_800_000_000_000, ackedBy: 'u.s' });
    const [byHost, bySurgeon] = ctl.objects();
    expect(byHost!.acknowledged).toMatch(/^Acknowledged by Dr\. Adams \(host\)/);
    expect(bySurgeon!.acknowledged).toMatch(/^Seen by Dr\. Cut \(surgeon\)/);
  });

  it('a note goes above the selected object (or the table centre); a refusal is shown, the next success clears it', async () => {
    const { ctl, session } = setup('clinician');
    session.put('o1', { px: 0.2, py: 1, pz: -0.1 });
    session.refuse('object.add', 'SCENE_FULL', 'The scene is full');
    await ctl.addNote('  ');
    expect(ctl.objectError).toBe('The scene is full');
    ctl.select('o1');
    await ctl.addNote('Ablation site');
    expect(ctl.objectError).toBe('');
    const [first, second] = session.sentOf('object.add') as { label: string; transform: { position: number[] } }[];
    expect(first).toMatchObject({ kind: 'label', label: 'Note', transform: { position: [0, 1.3, 0] } });
    expect(second!.label).toBe('Ablation site');
    expect(second!.transform.position.map((v) => +v.toFixed(3))).toEqual([0.2, 1.15, -0.1]);
  });

  it('keyboard nudges run in order, each from the last transform sent while the patch lags; a refused grab says why', async () => {
    const { ctl, session, tick } = setup('clinician');
    session.put('o1', {});
    expect(ctl.key('o1', 'ArrowRight')).toBe(true);
    expect(ctl.key('o1', 'ArrowRight')).toBe(true);
    expect(ctl.key('o1', 'x')).toBe(false);
    await ctl.nudge('o1', (t) => t);
    const released = session.sentOf('object.release') as { transform: { position: number[] } }[];
    expect(released.map((r) => r.transform.position[0]!.toFixed(2))).toEqual(['0.05', '0.10', '0.10']);
    tick(2500); // long after: the state (still at 0) is the truth again
    ctl.key('o1', 'ArrowRight');
    await ctl.nudge('o1', (t) => t);
    expect((session.sentOf('object.release').at(-1) as { transform: { position: number[] } }).transform.position[0]).toBeCloseTo(0.05);
    session.refuse('object.grab', 'OBJECT_LOCKED', 'Someone else is holding that object.');
    await ctl.nudge('o1', (t) => t);
    expect(ctl.objectError).toBe('Someone else is holding that object.');
  });

  it('Delete removes the object; a refusal is shown', async () => {
    const { ctl, session } = setup('host');
    session.put('o1', {});
    session.refuse('object.remove', 'FORBIDDEN', 'Your role does not allow this.');
    expect(ctl.key('o1', 'Delete')).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(session.sentOf('object.remove')).toEqual([{ objectId: 'o1' }]);
    expect(ctl.objectError).toBe('Your role does not allow this.');
  });
});

describe('RoomController: connection status', () => {
  it('says connected (and degraded voice), reconnecting, and restored', () => {
    const { ctl, session, log } = setup('clinician', { voice: true, voiceState: 'degraded' });
    ctl.start();
    session.setStatus('reconnecting');
    session.setStatus('connected');
    expect(log.status).toEqual([['Connected · voice degraded', 'ok'], ['Reconnecting…', 'warn'], ['Connected · voice degraded', 'ok']]);
    expect(log.announced).toEqual(['Connection restored.']);
    expect(log.ended).toEqual([]);
  });

  it('a kick, removal or closed room ends with its reason; a consented close leaves quietly; any other close rejoins', () => {
    const ends = [4403, 4401, 4404, 4429, 4000, 1006, undefined].map((code) => {
      const { ctl, session, log } = setup('clinician');
      ctl.start();
      session.setStatus('closed', code);
      return log.ended[0];
    });
    expect(ends).toEqual([
      { then: 'leave', message: 'The host removed you from this room.' },
      { then: 'leave', message: 'You are no longer a participant of this room.' },
      { then: 'leave', message: 'This room has been closed.' },
      { then: 'leave', message: 'You were disconnected for sending too many messages.' },
      { then: 'leave' },
      { then: 'rejoin' },
      { then: 'rejoin' },
    ]);
    // Put out of a replay: the recording was taken away (a grant revoked, a training room left), said so.
    const { ctl, session, log } = setup('host');
    session.state.info.kind = 'replay';
    ctl.start();
    session.setStatus('closed', 4401);
    expect(log.ended).toEqual([{ then: 'leave', message: 'You may no longer watch this recording: your access to it was withdrawn.' }]);
    // A replay closed under its viewers (its recording deleted): said as a replay, not as a room.
    const closed = setup('observer');
    closed.session.state.info.kind = 'replay';
    closed.ctl.start();
    closed.session.setStatus('closed', 4404);
    expect(closed.log.ended).toEqual([{ then: 'leave', message: 'This replay has ended: the recording was deleted or the replay was closed.' }]);
  });

  it('leaving on purpose: the close that follows is not a loss', async () => {
    const { ctl, session, log } = setup('clinician');
    ctl.start();
    await ctl.leave();
    session.setStatus('closed', 1006);
    expect([session.left, log.ended.length]).toEqual([1, 0]);
  });
});

describe('RoomController: recording (teaching)', () => {
  it('everyone sees that the room records; only the host of a room that allows it is offered to record, never in a replay', async () => {
    const host = setup('host');
    expect(host.ctl.offersRecording).toBe(false); // not allowed by an administrator
    host.session.state.info.recordingAllowed = true;
    expect(host.ctl.offersRecording).toBe(true);
    await host.ctl.toggleRecording();
    expect(host.session.sentOf('recording.start')).toEqual([{}]);
    host.session.state.info.recording = 'rec-1';
    expect(host.ctl.recording).toBe(true);
    await host.ctl.toggleRecording();
    expect(host.session.sentOf('recording.stop')).toEqual([{}]);
    expect(host.ctl.recordingNote).toBe('Recording saved: it is in Teaching recordings (room list).'); // where it went
    host.session.state.info.recording = '';
    host.session.refuse('recording.start', 'FORBIDDEN', 'Recording is not allowed in this room');
    await host.ctl.toggleRecording();
    expect(host.ctl.recordingNote).toBe('The recording did not start: Recording is not allowed in this room'); // not a silent button

    const cli = setup('clinician');
    cli.session.state.info.recordingAllowed = true;
    cli.session.state.info.recording = 'rec-1';
    expect(cli.ctl.offersRecording).toBe(false);
    expect(cli.ctl.recording).toBe(true);

    const replay = setup('host', { kind: 'replay' });
    replay.session.state.info.recordingAllowed = true;
    expect(replay.ctl.offersRecording).toBe(false);
  });
});
