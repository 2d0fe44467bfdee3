import { ClinicState, ParticipantState, SceneObjectState } from '../../shared/src/state.ts';
import { LEFT_HAND, RIGHT_HAND, messageBytes, writePose } from '../../shared/src/pose-wire.ts';

/** A deterministic pseudo-random source, so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** A generated session: participants that move (heads always, hands often), point, present, annotate. */
export class GeneratedSession {
  readonly state = new ClinicState();
  readonly poses = new Map<string, Uint8Array>();
  private readonly random: () => number;
  private seq = 0;
  private readonly heads = new Map<string, [number, number, number]>();

  constructor(seed: number, people: number) {
    this.random = rng(seed);
    for (let i = 0; i < people; i++) this.join();
    const model = new SceneObjectState();
    Object.assign(model, { id: 'heart', kind: 'model', asset: 'builtin:heart', label: 'Heart', createdBy: 'u0', px: 0, py: 1.2, pz: 0, qw: 1, sx: 1, sy: 1, sz: 1 });
    this.state.objects.set('heart', model);
  }

  join(): void {
    const n = this.seq++;
    const p = new ParticipantState();
    p.sessionId = `s${n}`;
    p.userId = `u${n}`;
    p.name = `User ${n}`;
    p.role = n === 0 ? 'host' : 'clinician';
    p.slot = n % 256;
    this.state.participants.set(p.sessionId, p);
    this.heads.set(p.sessionId, [this.random() * 4 - 2, 1.6, this.random() * 4 - 2]);
  }

  /** One tick of activity (every avatar moves a little, as heads do). */
  step(churn: boolean): void {
    const r = this.random;
    for (const [sessionId, head] of this.heads) {
      head[0] += (r() - 0.5) * 0.01;
      head[2] += (r() - 0.5) * 0.01;
      const hands = r() < 0.5 ? LEFT_HAND | RIGHT_HAND : 0;
      const bytes = new Uint8Array(messageBytes(hands));
      const view = new DataView(bytes.buffer);
      const q: [number, number, number, number] = [0, Math.sin(r() * 0.2), 0, 1];
      const len = Math.hypot(...q);
      writePose(view, 0, { p: head, q: q.map((v) => v / len) as [number, number, number, number] }, hands);
      if (hands) {
        writePose(view, 10, { p: [head[0] - 0.3, 1.1, head[2]], q: [0, 0, 0, 1] });
        writePose(view, 20, { p: [head[0] + 0.3, 1.1, head[2]], q: [0, 0, 0, 1] });
      }
      this.poses.set(sessionId, bytes);
    }
    if (!churn) return;
    const ids = [...this.state.participants.keys()];
    const someone = () => this.state.participants.get(ids[Math.floor(r() * ids.length)]!)!;
    const x = r();
    if (x < 0.05) {
      const p = someone();
      p.pointing = !p.pointing;
      p.pointer.px = Math.round(r() * 1000);
    } else if (x < 0.08) {
      const o = new SceneObjectState();
      const author = someone();
      Object.assign(o, { id: `a${Math.floor(r() * 1e9)}`, kind: 'stroke', asset: 'builtin:pen', label: '', createdBy: author.userId, authorScope: 'patient/*.rs', points: '0,0,0,1,1,1', color: '#ff0000', px: r(), py: r(), pz: r(), qw: 1, sx: 1, sy: 1, sz: 1 });
      this.state.objects.set(o.id, o);
    } else if (x < 0.1) {
      const heart = this.state.objects.get('heart')!;
      heart.px = Math.fround(heart.px + 0.01);
    } else if (x < 0.11) {
      const victim = [...this.state.objects.keys()].find((k) => k !== 'heart');
      if (victim) this.state.objects.delete(victim);
    } else if (x < 0.12) {
      this.state.info.presenter = someone().sessionId;
    } else if (x < 0.125 && ids.length > 2) {
      const p = someone();
      if (this.state.info.presenter === p.sessionId) this.state.info.presenter = '';
      this.state.participants.delete(p.sessionId);
      this.heads.delete(p.sessionId);
      this.poses.delete(p.sessionId);
    } else if (x < 0.13) this.join();
  }
}

