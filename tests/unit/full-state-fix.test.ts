import { ClientState, SchemaSerializer } from '@colyseus/core';
import { WebSocketClient } from '@colyseus/ws-transport';
import { Decoder, Encoder, StateView } from '@colyseus/schema';
import { describe, expect, it } from 'vitest';
import { CaseEntryState, ClinicState, ParticipantState } from '../../shared/src/state.ts';
import { installFullStateFix } from '../../server/src/colyseus/full-state.ts';

/**
 * A full state larger than the encoder's buffer, sent to clients with
 * different filtered views, must decode to exactly what each view allows
 * (issue 13: Colyseus' serializer encoded views into the stale buffer).
 */
function bigState(): ClinicState {
  const state = new ClinicState();
  state.info.roomId = 'r';
  for (let i = 0; i < 60; i++) {
    const p = new ParticipantState();
    p.sessionId = `s${i}`;
    p.userId = `user-${i}`;
    p.name = `Participant ${i}`;
    state.participants.set(p.sessionId, p);
  }
  for (let i = 0; i < 200; i++) {
    for (const variant of ['identified', 'deidentified']) {
      const e = new CaseEntryState();
      e.key = `${variant}:Observation/${i}`;
      e.resourceType = 'Observation';
      e.variant = variant;
      e.json = JSON.stringify({ resourceType: 'Observation', id: `${variant}-${i}`, note: 'x'.repeat(200) });
      state.caseEntries.set(e.key, e);
    }
  }
  return state;
}

function decodeFor(serializer: SchemaSerializer<ClinicState>, view: StateView): ClinicState {
  const bytes = serializer.getFullState({ view } as never) as Uint8Array;
  const decoded = new ClinicState();
  new Decoder(decoded).decode(bytes.subarray(1) as never);
  return decoded;
}

describe('full state larger than the encoder buffer', () => {
  it('decodes correctly for every filtered view', () => {
    installFullStateFix();
    Encoder.BUFFER_SIZE = 4 * 1024; // far below the ~100 KB state
    const warn = console.warn;
    console.warn = () => {};
    try {
      const state = bigState();
      const serializer = new SchemaSerializer<ClinicState>();
      serializer.reset(state);
      const identified = new StateView();
      const deidentified = new StateView();
      state.caseEntries.forEach((e) => (e.variant === 'identified' ? identified : deidentified).add(e));
      for (const [view, variant] of [[identified, 'identified'], [deidentified, 'deidentified'], [identified, 'identified']] as const) {
        const s = decodeFor(serializer, view);
        expect(s.participants.size).toBe(60);
        expect(s.caseEntries.size).toBe(200);
        s.caseEntries.forEach((e) => expect(e.variant).toBe(variant));
      }
    } finally {
      console.warn = warn;
    }
  });
});

/**
 * Issue 20: every room of a process shares one encode buffer. A room's full
 * state must survive other rooms encoding in between, and nothing handed to
 * a socket may stay a view of the shared buffer (a backed-up socket keeps a
 * reference to what it was given while the next encode overwrites it).
 */
describe('one encode buffer for every room', () => {
  it('rooms do not own encode buffers, full states survive other rooms encoding, and patch frames are copies', () => {
    installFullStateFix();
    const warn = console.warn;
    console.warn = () => {};
    try {
      const [a, b] = [bigState(), bigState()];
      const [sa, sb] = [new SchemaSerializer<ClinicState>(), new SchemaSerializer<ClinicState>()];
      sa.reset(a);
      sb.reset(b);
      const internals = (s: SchemaSerializer<ClinicState>) => s as unknown as { fullEncodeBuffer: Uint8Array; encoder: { sharedBuffer: Uint8Array } };
      expect(internals(sa).encoder.sharedBuffer).toBe(internals(sb).encoder.sharedBuffer);
      expect(internals(sa).fullEncodeBuffer).toBe(internals(sb).fullEncodeBuffer);

      const viewA = new StateView();
      a.caseEntries.forEach((e) => e.variant === 'identified' && viewA.add(e));
      expect(decodeFor(sa, viewA).caseEntries.size).toBe(200);
      // Room B encodes everything (different contents) into the shared buffer…
      b.info.roomId = 'room-b';
      b.caseEntries.forEach((e) => (e.json = e.json.replace(/x+/, 'y'.repeat(300))));
      const viewB = new StateView();
      b.caseEntries.forEach((e) => viewB.add(e));
      expect(decodeFor(sb, viewB).caseEntries.size).toBe(400);
      // …and room A's next joiner still gets room A's state.
      const again = decodeFor(sa, viewA);
      expect(again.info.roomId).toBe('r');
      again.caseEntries.forEach((e) => expect(e.json).toContain('xxxx'));

      // A patch: what reaches the socket is not a view of the shared buffer.
      const sent: Uint8Array[] = [];
      const client = new WebSocketClient('c1', { send: (data: Uint8Array) => sent.push(data) } as never);
      client.state = ClientState.JOINED;
      (client as unknown as { view: StateView }).view = viewA;
      a.info.roomId = 'r2';
      expect(sa.applyPatches([client as never], a)).toBe(true);
      expect(sent.length).toBe(1);
      expect(sent[0]!.buffer).not.toBe(internals(sa).encoder.sharedBuffer.buffer);
    } finally {
      console.warn = warn;
    }
  });
});
