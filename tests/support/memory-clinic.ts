import { pino } from 'pino';
import { Encoder } from '@colyseus/schema';
import type { FhirResource } from '../../shared/src/fhir.ts';
import type { ParticipantDto } from '../../shared/src/http.ts';
import type { AuditEvent } from '../../server/src/audit/audit-log.ts';
import type { CaseRecord, LiveRoomRecord } from '../../server/src/domain/storage.ts';
import { Clinic, type Admission } from '../../server/src/rooms/clinic.ts';
import type { SeatReadiness } from '../../server/src/rooms/pose-relay.ts';
import { PoseBudget } from '../../server/src/rooms/pose-budget.ts';
import { MemoryRoomsStore, MemorySceneStore } from './memory-store.ts';

/**
 * The Clinic engine without sockets or a database: the in-memory stores
 * (held to PostgreSQL's behaviour by tests/integration/store-contract.test.ts),
 * a fake clock and a transport that records what it was told.
 */
export const ROOM = '11111111-1111-4111-8111-111111111111';
export const CASE = '22222222-2222-4222-8222-222222222222';
export const PATIENT = '33333333-3333-4333-8333-333333333333';

export const resources: FhirResource[] = [
  { resourceType: 'Patient', id: PATIENT, name: [{ family: 'Canaryname' }], gender: 'female', birthDate: '1960-02-03' },
  { resourceType: 'Observation', id: 'obs-1', status: 'final', code: { text: 'Heart rate' }, subject: { reference: `Patient/${PATIENT}` }, valueQuantity: { value: 88, unit: '/min' } },
  { resourceType: 'MedicationStatement', id: 'med-1', status: 'active', medicationCodeableConcept: { text: 'Warfarin' }, subject: { reference: `Patient/${PATIENT}` } },
] as FhirResource[];

export class FakeClock {
  t = 1_800_000_000_000;
  private timers: { at: number; fn: () => void }[] = [];
  now = () => this.t;
  schedule = (fn: () => void, ms: number) => void this.timers.push({ at: this.t + ms, fn });
  /** A JWT iat (seconds) for a ticket issued now. */
  get iat(): number {
    return Math.floor(this.t / 1000);
  }
  async advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
    await settle();
  }
}
export const settle = () => new Promise((r) => setTimeout(r, 5));

export function memoryClinic(participants: ParticipantDto[], opts: { scopeCeiling?: string[]; kind?: LiveRoomRecord['kind'] } = {}) {
  const clock = new FakeClock();
  const store = new MemoryRoomsStore(clock.now);
  store.put({ id: ROOM, title: 'Board', kind: opts.kind ?? 'case-conference', caseId: CASE, participants, scopeCeiling: opts.scopeCeiling ?? null, observerVideo: false, recordingAllowed: false, recordingId: null });
  const scene = new MemorySceneStore();
  const audit: AuditEvent[] = [];
  const ended: { sessionId: string; code: number }[] = [];
  const frames: { sessionId: string; frame: Uint8Array }[] = [];
  const readiness = new Map<string, SeatReadiness>();
  const caseRecord: CaseRecord = { id: CASE, patientId: PATIENT, pseudonymKey: 'k'.repeat(64), resources };
  const open = async () => {
    const clinic = await Clinic.open(
      ROOM,
      {
        store,
        scene,
        cases: { get: async (id) => (id === CASE ? caseRecord : null) },
        audit: async (e) => void audit.push(e),
        voice: null,
        logger: pino({ level: 'silent' }),
        breakGlass: { selfGrantRoles: ['surgeon'], grantMs: 60_000, pendingMs: 30_000 },
        now: clock.now,
        schedule: clock.schedule,
        maxSeatsPerUser: 2,
        patchHz: () => 30,
        timer: clock.schedule,
        poseBudget: new PoseBudget(10, Infinity),
      },
      {
        end: (sessionId, code) => void ended.push({ sessionId, code }),
        publish: async () => {},
        send: () => {},
        broadcast: () => {},
        setPatchRate: () => {},
        setCapacity: () => {},
        poseHeader: Uint8Array.of(0xee),
        replayPoseHeader: Uint8Array.of(0xef),
        poseReadiness: (sessionId) => readiness.get(sessionId) ?? 'ready',
        sendPoseFrame: (sessionId, frame) => void frames.push({ sessionId, frame }),
      },
    );
    // The room's serializer binds an encoder to the state (views track visibility through it).
    new Encoder(clinic.state);
    return clinic;
  };
  let n = 0;
  /** A verified ticket for this room, issued now on the clinic's clock. */
  const ticket = (sub: string, over: Partial<Admission> = {}): Admission => ({ sub, name: sub, admin: false, jti: `jti-${++n}`, iat: clock.iat, ...over });
  return { store, clock, audit, ended, open, frames, readiness, scene, ticket };
}
