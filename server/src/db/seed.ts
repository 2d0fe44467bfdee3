import { randomUUID } from 'node:crypto';
import { importBundle } from '../domain/fhir-bundle.ts';
import type { CasesRepo } from './cases.repo.ts';
import { demoCaseBundle } from './demo-case.ts';
import type { RoomsRepo } from './rooms.repo.ts';
import type { SceneRepo, SceneObjectRecord } from './scene.repo.ts';

import { DEMO_ROOM_ID, DEMO_USERS } from '../../../shared/src/demo.ts';

export { DEMO_ROOM_ID, DEMO_USERS };

const I = { qx: 0, qy: 0, qz: 0, qw: 1, sx: 1, sy: 1, sz: 1, authorScope: '', resourceRef: '', points: '', color: '', frame: 'world', sentAt: 0, videoTime: 0, ackedAt: 0, ackedBy: '', dismissed: false, slice: '' };
const DEMO_OBJECTS: SceneObjectRecord[] = [
  { id: 'heart', kind: 'model', asset: 'builtin:heart', label: 'Heart', createdBy: 'dr.adams', px: 0, py: 1.2, pz: 0, ...I },
  { id: 'skull', kind: 'model', asset: 'builtin:skull', label: 'Skull', createdBy: 'dr.adams', px: -0.8, py: 1.2, pz: 0, ...I },
  { id: 'femur', kind: 'model', asset: 'builtin:femur', label: 'Femur', createdBy: 'dr.adams', px: 0.8, py: 1.1, pz: 0, ...I },
  { id: 'marker-1', kind: 'marker', asset: 'builtin:pin', label: 'Left ventricle', createdBy: 'dr.adams', px: 0.06, py: 1.25, pz: 0.05, ...I, sx: 0.2, sy: 0.2, sz: 0.2 },
];

/** Create the demo room — sample objects and a fictional patient's case — unless it exists. Returns true when created. */
export async function seedDemo(rooms: RoomsRepo, scene: SceneRepo, cases: CasesRepo): Promise<boolean> {
  if (await rooms.get(DEMO_ROOM_ID)) return false;
  const bundle = importBundle(demoCaseBundle(), randomUUID);
  if (!bundle.ok) throw new Error(`demo case is invalid: ${JSON.stringify(bundle.problems)}`);
  const caseId = await cases.createImported(bundle.patient, bundle.resources, 'system');
  await rooms.create({
    id: DEMO_ROOM_ID,
    title: 'Demo case conference',
    kind: 'case-conference',
    caseId,
    createdBy: 'system',
    participants: DEMO_USERS.map(({ userId, role }) => ({ userId, role })),
  });
  await scene.upsert(DEMO_ROOM_ID, DEMO_OBJECTS);
  return true;
}
