import { createHash } from 'node:crypto';
import type { FhirResource } from '../../../shared/src/fhir.ts';
import { entriesFor, type CaseEntry, type PreparedCase } from '../domain/case-view.ts';

/** A case entry with the JSON the synced state carries. */
export interface SyncedEntry extends CaseEntry {
  readonly json: string;
}

/** Every copy of a resource, with its JSON (what a live resource adds to one room). */
export const syncedEntriesFor = (c: PreparedCase, resource: FhirResource): SyncedEntry[] => entriesFor(c, resource).map((e) => Object.freeze({ ...e, json: JSON.stringify(e.resource) }));

/**
 * The rooms of this process that show the same case share its entries — every copy (identified,
 * identity-withheld, de-identified) of every summary resource, with its JSON — instead of each
 * making its own: they never change once made, and ten rooms on one case kept ten equal sets
 * (≈ 0.4 MB a room for a Synthea patient, bench/memory). Keyed by everything they are made from:
 * the case's keys, its patient's identity, the year (DeidentifyKey.now: only its year is used) and
 * each resource's JSON, so a room that loads the case after it changed makes its own. Held weakly:
 * the set goes with the last room that holds it.
 */
const made = new Map<string, WeakRef<readonly SyncedEntry[]>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (made.get(key)?.deref() === undefined) made.delete(key);
});

export function sharedCaseEntries(c: PreparedCase, resources: readonly FhirResource[]): readonly SyncedEntry[] {
  const hash = createHash('sha256').update(JSON.stringify([c.id, c.patientId, c.key.pseudonymKey, c.key.now.getUTCFullYear(), c.identity.matcher?.source ?? null, c.identity.matcher?.flags ?? null, c.identity.birthDate]));
  for (const r of resources) hash.update('\n').update(JSON.stringify(r));
  const key = hash.digest('base64');
  const known = made.get(key)?.deref();
  if (known) return known;
  const entries = Object.freeze(resources.flatMap((r) => syncedEntriesFor(c, r)));
  made.set(key, new WeakRef(entries));
  forget.register(entries, key);
  return entries;
}

/** Sets of entries shared now (tests). */
export const sharedCaseCount = (): number => [...made.values()].filter((r) => r.deref() !== undefined).length;
