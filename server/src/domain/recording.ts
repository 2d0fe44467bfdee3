import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import type { Marker, SceneObjectRecord } from './storage.ts';
export type { Marker };

/**
 * A recording is the room, not the record: the scene's objects (annotations
 * with their author's access), who is there, where they point, who presents,
 * and their avatar poses (pose-wire bytes as they came, sampled at ~10 Hz).
 * No case data: a replay reads the case through each viewer's own access.
 *
 * Pure: a scene, the events between two scenes (diff), applying events, and
 * the chunk codec (msgpack with records, then deflate). A chunk is a keyframe
 * — the scene at `startMs` — and the events in (startMs, endMs], so the scene
 * at any instant is one chunk away.
 */

/** A participant as recorded: who, in which role, and their laser pointer. */
export interface RecPerson {
  userId: string;
  name: string;
  role: string;
  pointing: boolean;
  /** Quantized pointer pose (QPose: px py pz qx qy qz qw). */
  pointer: number[];
}

/** Participants are numbered per recording (a rejoin is a new number): events name them by number. */
export interface RecScene {
  /** Participant number presenting, -1 = nobody. */
  presenter: number;
  objects: Map<string, SceneObjectRecord>;
  people: Map<number, RecPerson>;
  /** Latest avatar pose per participant: a pose-wire message (head [, left] [, right]). */
  poses: Map<number, Uint8Array>;
}

export type RecEvent =
  | { t: number; k: 'o'; o: SceneObjectRecord }
  | { t: number; k: 'x'; id: string }
  | { t: number; k: 'j'; n: number; p: RecPerson }
  | { t: number; k: 'l'; n: number }
  | { t: number; k: 'P'; n: number }
  /** Poses that changed at t: (n uint16 LE, length uint8, pose bytes)… */
  | { t: number; k: 'v'; d: Uint8Array }
  /** Break-glass, as metadata only: who, which act, which resource types — never the reason's text. */
  | { t: number; k: 'g'; m: { userId: string; act: string; types: string[] } };


export interface Chunk {
  seq: number;
  startMs: number;
  endMs: number;
  keyframe: RecScene;
  events: RecEvent[];
}

export const emptyScene = (): RecScene => ({ presenter: -1, objects: new Map(), people: new Map(), poses: new Map() });

export function cloneScene(s: RecScene): RecScene {
  return {
    presenter: s.presenter,
    objects: new Map([...s.objects].map(([k, o]) => [k, { ...o }])),
    people: new Map([...s.people].map(([k, p]) => [k, { ...p, pointer: [...p.pointer] }])),
    poses: new Map([...s.poses].map(([k, b]) => [k, b.slice()])),
  };
}

const sameRecord = (a: object, b: object) => {
  const ka = Object.keys(a) as (keyof typeof a)[];
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === (b as Record<string, unknown>)[k]);
};
const samePerson = (a: RecPerson, b: RecPerson) =>
  a.userId === b.userId && a.name === b.name && a.role === b.role && a.pointing === b.pointing && a.pointer.every((v, i) => v === b.pointer[i]);
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);

/** The events that turn `prev` into `next` at time t (ms from the recording's start). */
export function diffScene(prev: RecScene, next: RecScene, t: number): RecEvent[] {
  const out: RecEvent[] = [];
  for (const [n] of prev.people) if (!next.people.has(n)) out.push({ t, k: 'l', n });
  for (const [n, p] of next.people) {
    const before = prev.people.get(n);
    if (!before || !samePerson(before, p)) out.push({ t, k: 'j', n, p: { ...p, pointer: [...p.pointer] } });
  }
  for (const [id] of prev.objects) if (!next.objects.has(id)) out.push({ t, k: 'x', id });
  for (const [id, o] of next.objects) {
    const before = prev.objects.get(id);
    if (!before || !sameRecord(before, o)) out.push({ t, k: 'o', o: { ...o } });
  }
  if (prev.presenter !== next.presenter) out.push({ t, k: 'P', n: next.presenter });
  const changed: [number, Uint8Array][] = [];
  for (const [n, b] of next.poses) {
    const before = prev.poses.get(n);
    if (!before || !sameBytes(before, b)) changed.push([n, b]);
  }
  if (changed.length > 0) out.push({ t, k: 'v', d: packPoses(changed) });
  return out;
}

/** Apply one event to a scene (in place). */
export function applyEvent(s: RecScene, e: RecEvent): void {
  switch (e.k) {
    case 'o':
      s.objects.set(e.o.id, { ...e.o });
      return;
    case 'x':
      s.objects.delete(e.id);
      return;
    case 'j':
      s.people.set(e.n, { ...e.p, pointer: [...e.p.pointer] });
      return;
    case 'l':
      s.people.delete(e.n);
      s.poses.delete(e.n);
      if (s.presenter === e.n) s.presenter = -1;
      return;
    case 'P':
      s.presenter = e.n;
      return;
    case 'v':
      for (const [n, b] of unpackPoses(e.d)) s.poses.set(n, b);
      return;
    case 'g':
      return;
  }
}

/** The scene at instant t, from the chunk whose span holds it (keyframe at startMs, then events ≤ t). */
export function sceneAt(chunk: Chunk, t: number): RecScene {
  const s = cloneScene(chunk.keyframe);
  for (const e of chunk.events) {
    if (e.t > t) break;
    applyEvent(s, e);
  }
  return s;
}

/** Markers the events of one tick make (the scene before them is `prev`). */
export function markersOf(prev: RecScene, events: RecEvent[], userOf: (n: number) => string): Marker[] {
  const out: Marker[] = [];
  for (const e of events) {
    if (e.k === 'o' && !prev.objects.has(e.o.id) && e.o.kind !== 'model') {
      const o = e.o;
      out.push({ t: e.t, kind: 'annotation', who: o.createdBy, scope: o.authorScope, obj: { id: o.id, kind: o.kind, asset: o.asset, frame: o.frame, label: o.label, resourceRef: o.resourceRef } });
    }
    else if (e.k === 'P' && e.n >= 0) out.push({ t: e.t, kind: 'presenter', who: userOf(e.n) });
    else if (e.k === 'j') {
      const before = prev.people.get(e.n);
      if (!before) out.push({ t: e.t, kind: 'join', who: e.p.userId });
      if (e.p.pointing && !before?.pointing) out.push({ t: e.t, kind: 'pointing', who: e.p.userId });
    }
  }
  return out;
}

function packPoses(list: [number, Uint8Array][]): Uint8Array {
  const out = new Uint8Array(list.reduce((a, [, b]) => a + 3 + b.byteLength, 0));
  let at = 0;
  for (const [n, b] of list) {
    out[at++] = n & 0xff;
    out[at++] = n >> 8;
    out[at++] = b.byteLength;
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

/** A 'v' event's (or a keyframe's) packed poses: (n uint16 LE, length uint8, pose bytes)… */
export function* unpackPoses(d: Uint8Array): Generator<[number, Uint8Array]> {
  let at = 0;
  while (at + 3 <= d.byteLength) {
    const n = d[at]! | (d[at + 1]! << 8);
    const len = d[at + 2]!;
    yield [n, d.slice(at + 3, at + 3 + len)];
    at += 3 + len;
  }
}

// ---- codec ------------------------------------------------------------------------------

const packr = new Packr({ useRecords: true, variableMapSize: true });

interface WireScene {
  p: number;
  o: SceneObjectRecord[];
  h: [number, RecPerson][];
  v: Uint8Array;
}

const toWire = (s: RecScene): WireScene => ({ p: s.presenter, o: [...s.objects.values()], h: [...s.people], v: packPoses([...s.poses]) });
function fromWire(w: WireScene): RecScene {
  return { presenter: w.p, objects: new Map(w.o.map((o) => [o.id, o])), people: new Map(w.h), poses: new Map(unpackPoses(toBytes(w.v))) };
}
/** msgpackr gives Buffers; keep plain Uint8Arrays so scenes compare the same before and after. */
const toBytes = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();

export function encodeChunk(c: Chunk): Buffer {
  return deflateRawSync(packr.pack({ s: c.seq, a: c.startMs, b: c.endMs, k: toWire(c.keyframe), e: c.events }));
}

export function decodeChunk(data: Uint8Array): Chunk {
  const raw = new Unpackr({ useRecords: true }).unpack(inflateRawSync(data)) as { s: number; a: number; b: number; k: WireScene; e: RecEvent[] };
  const events = raw.e.map((e) => (e.k === 'v' ? { ...e, d: toBytes(e.d) } : e));
  return { seq: raw.s, startMs: raw.a, endMs: raw.b, keyframe: fromWire(raw.k), events };
}

/** A scene as plain, order-independent data (to compare scenes, in tests and checks). */
export function canonicalScene(s: RecScene): unknown {
  const sorted = <T>(m: Map<string | number, T>) => [...m].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
  return {
    presenter: s.presenter,
    objects: sorted(s.objects),
    people: sorted(s.people),
    poses: sorted(s.poses).map(([n, b]) => [n, [...b]]),
  };
}
