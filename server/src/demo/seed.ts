import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { patientMismatch } from '../domain/dicom-patient-match.ts';
import { parsePart10, pixelIndex, str } from '../domain/dicom.ts';
import type { ImagingService } from '../imaging/imaging-service.ts';
import type { LocalImagingStore } from '../imaging/local-store.ts';
import { importBundle } from '../domain/fhir-bundle.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import { demoCaseBundle } from './demo-case.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import type { SceneRepo, SceneObjectRecord } from '../db/scene.repo.ts';

import { DEMO_ROOM_ID, DEMO_USERS } from '../../../shared/src/demo.ts';

export { DEMO_ROOM_ID, DEMO_USERS };

const I = { qx: 0, qy: 0, qz: 0, qw: 1, sx: 1, sy: 1, sz: 1, authorScope: '', resourceRef: '', points: '', color: '', frame: 'world', sentAt: 0, videoTime: 0, ackedAt: 0, ackedBy: '', dismissed: false, slice: '' };
const DEMO_OBJECTS: SceneObjectRecord[] = [
  { id: 'heart', kind: 'model', asset: 'builtin:heart', label: 'Heart', createdBy: 'dr.adams', px: 0, py: 1.2, pz: 0, ...I },
  { id: 'skull', kind: 'model', asset: 'builtin:skull', label: 'Skull', createdBy: 'dr.adams', px: -0.8, py: 1.2, pz: 0, ...I },
  { id: 'femur', kind: 'model', asset: 'builtin:femur', label: 'Femur', createdBy: 'dr.adams', px: 0.8, py: 1.1, pz: 0, ...I },
  { id: 'marker-1', kind: 'marker', asset: 'builtin:pin', label: 'Left ventricle', createdBy: 'dr.adams', px: 0.06, py: 1.25, pz: 0.05, ...I, sx: 0.2, sy: 0.2, sz: 0.2 },
];

/**
 * The demo's images: pydicom's CT series of the fictional "Doe^Peter" (tests/fixtures/README.md), stored
 * byte for byte as published. The demo patient is that patient, so the series attaches by the same
 * patient check an upload passes — no DICOM file's identity is rewritten to fit a case.
 */
export const DEMO_DICOM_DIR = path.resolve(import.meta.dirname, '../../../tests/fixtures/dicom/ct-series');

/** Create the demo room — sample objects and a fictional patient's case with its CT — unless it exists. Returns true when created. */
export async function seedDemo(rooms: RoomsRepo, scene: SceneRepo, cases: CasesRepo, imaging?: { local: LocalImagingStore; service: ImagingService }): Promise<boolean> {
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
  if (imaging) await seedDemoImages(caseId, imaging);
  return true;
}

/** Store the demo CT (when the files ship with this build) and attach it, refusing any file that is not the demo patient's. */
async function seedDemoImages(caseId: string, imaging: { local: LocalImagingStore; service: ImagingService }): Promise<void> {
  const names = await readdir(DEMO_DICOM_DIR).catch(() => [] as string[]);
  const patient = await imaging.service.patient(caseId);
  for (const name of names.filter((n) => n.endsWith('.dcm')).sort()) {
    const bytes = new Uint8Array(await readFile(path.join(DEMO_DICOM_DIR, name)));
    const parsed = parsePart10(bytes);
    const differs = patientMismatch(parsed.header, patient);
    if (differs.length) throw new Error(`demo image ${name}: its ${differs.join(', ')} differ from the demo patient's`);
    await imaging.local.keepBytes(caseId, bytes, { header: parsed.header, pixels: pixelIndex(parsed) }, 'system');
    await imaging.service.attach(caseId, str(parsed.header, 'studyInstanceUid')!, 'upload', 'system');
  }
}
