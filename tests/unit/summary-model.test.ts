import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultScopes, parseScopes, readerOf, resourceVariant } from '../../server/src/auth/policy.ts';
import { selectCaseSummary } from '../../server/src/domain/case-summary.ts';
import { caseViewFor, preparedCase } from '../../server/src/domain/case-view.ts';
import { importBundle } from '../../server/src/domain/fhir-bundle.ts';
import type { CaseResourceType, FhirResource } from '../../shared/src/index.ts';
import { observationRows } from '../../client/src/app/clinical/format.ts';
import { newestFirst, summaryModel, trendRows, type SummarySection } from '../../client/src/app/clinical/summary-model.ts';
import { hl7AllergyBundle, hl7PrescriptionBundle, syntheaCarroll, syntheaMargie, type Bundle } from '../fixtures/real-fhir.ts';

type Json = Record<string, unknown>;
/** A de-identified reader of every type (a teaching room that shows the whole record). */
const DEID_ALL = ['deidentified', 'patient/*.rs'];

/** A real bundle as a room participant of this role receives it: imported, summarised for the room, filtered and (for observers) de-identified. */
function asReceived(bundle: Bundle, role: 'clinician' | 'observer' = 'clinician', scopes?: string[]) {
  const r = importBundle(bundle, randomUUID);
  if (!r.ok) throw new Error('import failed');
  const all = [r.patient, ...r.resources];
  const summary = selectCaseSummary(all);
  const access = parseScopes(scopes ?? defaultScopes(role));
  const prepared = preparedCase({ id: randomUUID(), patientId: r.patient.id, pseudonymKey: 'k'.repeat(32), resources: all });
  const { view } = caseViewFor(prepared, summary.resources, readerOf(access));
  const readable = (t: CaseResourceType) => resourceVariant(access, t) !== null;
  // What the room says per entry (CaseEntryState.ofType): only for the types this reader holds.
  const totals: Record<string, number> = {};
  for (const res of view.resources) totals[res.resourceType] = summary.totals[res.resourceType]!;
  const sections = summaryModel(view.resources as unknown as Json[], { readable, totals });
  const sec = (k: SummarySection['key']) => sections.find((s) => s.key === k);
  return { all, summary, view, sections, sec, readable, access, prepared };
}
const titles = (s: SummarySection | undefined, group = '') => s!.groups.find((g) => g.label === group)?.items.map((i) => i.title) ?? [];

describe('medications from real orders (MedicationRequest) and statements', () => {
  it("lists the HL7 example patient's three active orders with dose and prescriber, active first; completed ones under Past", () => {
    const { sec } = asReceived(hl7PrescriptionBundle());
    const meds = sec('medications')!;
    expect(titles(meds, 'Active')).toEqual(expect.arrayContaining(['Prednisone 5mg tablet (Product)', 'Myleran 2mg tablet, film coated', 'Tylenol PM']));
    // The three active orders, and medicationstatementexample1 (active, reported).
    expect(meds.groups[0]!.items.filter((i) => i.detail.some((d) => d.startsWith('ordered')))).toHaveLength(3);
    expect(titles(meds, 'Active')).toHaveLength(4);
    expect(meds.groups[0]!.label).toBe('Active');
    const myleran = meds.groups[0]!.items.find((i) => i.title.startsWith('Myleran'))!;
    expect(myleran.detail.join(' · ')).toContain('6 mg PO daily for remission induction');
    // The referenced Practitioner f007 is Simone Heps (the order's own display says "Patrick Pump": the resource wins).
    expect(myleran.detail.join(' · ')).toContain('by Simone Heps');
    expect(titles(meds, 'Past')).toEqual(['Oral Form Oxycodone (product)']);
    expect(meds.groups[1]!.items[0]!.marks).toEqual(['completed']);
  });

  it('Synthea sends MedicationRequest only: its active orders are listed with the prescriber', () => {
    const { sec } = asReceived(syntheaMargie());
    const active = sec('medications')!.groups.find((g) => g.label === 'Active')!.items;
    expect(active.map((i) => i.title)).toEqual(expect.arrayContaining(['Loratadine 5 MG Chewable Tablet', 'NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector', 'Levora 0.15/30 28 Day Pack']));
    expect(active.find((i) => i.title.startsWith('Loratadine'))!.detail.join(' ')).toMatch(/by Dr\. Ethelyn789 Thompson596/);
  });

  it('a de-identified reader gets the dose from the structured dose (the instruction text is free text) and no prescriber', () => {
    const { sec } = asReceived(hl7PrescriptionBundle(), 'observer', DEID_ALL);
    const myleran = sec('medications')!.groups[0]!.items.find((i) => i.title.startsWith('Myleran'))!;
    expect(myleran.detail.join(' · ')).toMatch(/^6 mg · Oral route \(qualifier value\) · 1×\/d/);
    expect(myleran.detail.join(' ')).not.toContain('Pump');
  });
});

describe('allergies as recorded', () => {
  it('shows every reaction with its severity, high criticality first, and marks an unconfirmed allergy', () => {
    const { sec } = asReceived(hl7AllergyBundle());
    const items = sec('allergies')!.groups[0]!.items;
    const cashew = items.find((i) => i.title === 'Cashew nuts')!;
    expect(cashew.lines).toEqual(['Anaphylactic reaction — severe', 'Urticaria — moderate']);
    expect(cashew.alert).toBe(true);
    expect(cashew.marks).not.toContain('unconfirmed');
    const penicillin = items.find((i) => i.title === 'Penicillin G')!;
    expect(penicillin.marks).toContain('unconfirmed');
    expect(penicillin.lines).toEqual(['Hives — severity not recorded']);
    expect(items.find((i) => i.title.startsWith('Allergic to fresh fish'))!.lines).toEqual([]);
    expect(items.slice(0, 2).map((i) => i.title).sort()).toEqual(['Cashew nuts', 'Penicillin G']); // high criticality first
  });

  it('the de-identified copy keeps both reactions, both severities and the verification status', () => {
    const { sec } = asReceived(hl7AllergyBundle(), 'observer', DEID_ALL);
    const items = sec('allergies')!.groups[0]!.items;
    expect(items.find((i) => i.title === 'Cashew nuts')!.lines).toEqual(['Anaphylactic reaction — severe', 'Urticaria — moderate']);
    expect(items.find((i) => i.title === 'Penicillin G')!.marks).toContain('unconfirmed');
  });
});

describe('the whole summary of a real Synthea record', () => {
  it('problems split active vs resolved; encounters, immunizations, reports (with results), procedures; counts say what the room carries of the record', () => {
    const { sec, all } = asReceived(syntheaMargie());
    const count = (t: string) => all.filter((r) => r.resourceType === t).length;
    const problems = sec('problems')!;
    const active = titles(problems, 'Active');
    const resolved = titles(problems, 'Resolved');
    expect(active.length + resolved.length).toBe(count('Condition'));
    expect(resolved.length).toBeGreaterThan(0);
    expect(active.length).toBeGreaterThan(0);
    for (const k of ['encounters', 'immunizations', 'procedures'] as const) expect(sec(k)!.groups[0]!.items.length, k).toBe(10);
    expect(sec('immunizations')).toMatchObject({ loaded: 10, total: count('Immunization'), empty: false });
    expect(sec('encounters')).toMatchObject({ loaded: 10, total: count('Encounter') });
    expect(sec('procedures')).toMatchObject({ loaded: 10, total: count('Procedure') });
    const reports = sec('reports')!;
    expect(reports.total).toBe(count('DiagnosticReport'));
    expect(reports.groups[0]!.items.every((r) => r.lines.length > 0 && !r.lines.some((l) => l.includes('not loaded')))).toBe(true);
  });

  it('a readable section the record has nothing of is "Not on file"; an unreadable one is absent', () => {
    const { sec } = asReceived(syntheaCarroll());
    expect(sec('allergies')).toMatchObject({ empty: true, total: 0, groups: [] });
    expect(sec('documents')).toMatchObject({ empty: true });
    const limited = asReceived(syntheaCarroll(), 'clinician', ['patient/Observation.rs']);
    expect(limited.sec('allergies')).toBeUndefined();
    expect(limited.sec('medications')).toBeUndefined();
  });

  it('every list is newest first, in the identified and the de-identified view alike', () => {
    for (const role of ['clinician', 'observer'] as const) {
      const { view } = asReceived(syntheaMargie(), role, role === 'observer' ? DEID_ALL : undefined);
      const imm = view.resources.filter((r) => r.resourceType === 'Immunization');
      const years = imm.map((r) => Number(String(r['occurrenceDateTime']).slice(0, 4)));
      expect(years, role).toEqual([...years].sort((a, b) => b - a));
      // The server's order is newest first, so ties within a de-identified year keep it.
      const idOrder = asReceived(syntheaMargie(), 'clinician').view.resources.filter((r) => r.resourceType === 'Observation').map((r) => String(r['effectiveDateTime']));
      expect(idOrder).toEqual([...idOrder].sort().reverse());
      expect(newestFirst(imm as unknown as Json[])).toEqual(imm);
    }
  });

  it('de-identified labs have short names, not full LOINC names', () => {
    const { view } = asReceived(syntheaMargie(), 'observer', DEID_ALL);
    const rows = view.resources.filter((r) => r.resourceType === 'Observation').flatMap((r) => observationRows(r as unknown as Json));
    const names = new Set(rows.map((r) => r.name));
    expect(names).toContain('Hemoglobin');
    expect(names).toContain('WBC');
    for (const n of names) expect(n, n).not.toMatch(/\[|by Automated count/);
    expect(rows.find((r) => r.name === 'WBC')!.fullName).toBe('Leukocytes [#/volume] in Blood by Automated count');
  });
});

describe('trend ranges', () => {
  it('24 h, 7 d and all end at the newest reading: a rise over six days is in 7 d, not in 24 h', () => {
    const hr = (daysAgo: number, v: number): Json => ({
      resourceType: 'Observation', category: [{ coding: [{ code: 'vital-signs' }] }], code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      effectiveDateTime: new Date(Date.UTC(2025, 0, 10) - daysAgo * 86_400_000).toISOString(), valueQuantity: { value: v, unit: '/min' },
    });
    const rows = [hr(6, 88), hr(4, 96), hr(2, 110), hr(0.5, 118), hr(0, 124), hr(40, 70)].flatMap(observationRows);
    expect(trendRows(rows, '24h').map((r) => r.numeric)).toEqual([118, 124]);
    expect(trendRows(rows, '7d').map((r) => r.numeric)).toEqual([88, 96, 110, 118, 124]);
    expect(trendRows(rows, 'all')).toHaveLength(6);
    // A de-identified record (years only) still charts over "all".
    const years = [{ ...hr(0, 80), effectiveDateTime: '2019' }, { ...hr(0, 90), effectiveDateTime: '2021' }].flatMap(observationRows);
    expect(trendRows(years, '7d')).toHaveLength(0);
    expect(trendRows(years, 'all')).toHaveLength(2);
  });
});

it('the summary carries the results of the reports it carries', () => {
  const { summary, all } = asReceived(syntheaMargie());
  const chosen = new Set(summary.resources.map((r) => `${r.resourceType}/${r.id}`));
  for (const rep of summary.resources.filter((r) => r.resourceType === 'DiagnosticReport')) {
    for (const x of (rep['result'] as { reference: string }[] | undefined) ?? []) expect(chosen.has(x.reference), x.reference).toBe(true);
  }
  expect(summary.totals['Immunization']).toBe(all.filter((r: FhirResource) => r.resourceType === 'Immunization').length);
});
