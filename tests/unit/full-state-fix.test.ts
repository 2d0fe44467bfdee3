import { SchemaSerializer } from '@colyseus/core';
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
