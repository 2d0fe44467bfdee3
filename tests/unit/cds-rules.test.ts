import { describe, expect, it } from 'vitest';
import type { FhirResource } from '../../shared/src/fhir.ts';
import { demoCaseBundle } from '../../server/src/demo/demo-case.ts';
import { runRules, type RuleInput } from '../../server/src/cds/rules.ts';
import { builtinCards } from '../../server/src/cds/builtin.ts';
import { hl7, syntheaCarroll, syntheaMargie, type Bundle } from '../fixtures/real-fhir.ts';

/** The rule input from a list of resources, as the built-in service's prefetch carries them. */
function input(resources: Record<string, unknown>[]): RuleInput {
  const of = (...types: string[]) => resources.filter((r) => types.includes(String(r['resourceType']))) as FhirResource[];
  return { observations: of('Observation'), medications: of('MedicationStatement', 'MedicationRequest'), allergies: of('AllergyIntolerance') };
}

function demoResources(): Record<string, unknown>[] {
  const bundle = demoCaseBundle() as Bundle;
  return bundle.entry.map((e, i) => ({ id: `demo-${i}`, ...e.resource }));
}

const bundleResources = (b: Bundle) => b.entry.map((e) => e.resource);

describe('built-in rules (rules, not advice)', () => {
  it('fire on the demo case: potassium above range on lisinopril, INR above the warfarin target — with values, times and the cited resources', () => {
    const resources = demoResources();
    const cards = runRules(input(resources));
    const k = cards.find((c) => c.rule === 'hyperkalaemia-raas')!;
    expect(k.summary).toContain('Potassium 5.9 mmol/L');
    expect(k.summary).toContain('Lisinopril');
    expect(k.detail).toMatch(/reference range 3\.5–5\.1/);
    expect(k.detail).toMatch(/at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(k.detail).toContain('ACE inhibitor');
    expect(k.indicator).toBe('warning');
    const potassium = resources.find((r) => JSON.stringify(r).includes('2823-3'))!;
    const lisinopril = resources.find((r) => JSON.stringify(r).includes('Lisinopril'))!;
    expect(k.cites).toEqual([{ resourceType: 'Observation', id: potassium['id'] }, { resourceType: 'MedicationStatement', id: lisinopril['id'] }]);
    const inr = cards.find((c) => c.rule === 'inr-warfarin')!;
    expect(inr.summary).toBe('INR 3.8 above the warfarin target range');
    expect(inr.detail).toContain('Warfarin 5 MG');
    // The ibuprofen allergy does not touch warfarin or lisinopril; no value is flagged HH/LL.
    expect(cards.map((c) => c.rule).sort()).toEqual(['hyperkalaemia-raas', 'inr-warfarin']);
  });

  it('stay silent on the demo case without the ACE inhibitor, or with potassium back in range', () => {
    const noAce = demoResources().filter((r) => !JSON.stringify(r).includes('Lisinopril'));
    expect(runRules(input(noAce)).map((c) => c.rule)).toEqual(['inr-warfarin']);
    const normalK = demoResources().map((r) => (JSON.stringify(r).includes('2823-3') ? { ...r, valueQuantity: { value: 4.6, unit: 'mmol/L' } } : r));
    expect(runRules(input(normalK)).map((c) => c.rule)).toEqual(['inr-warfarin']);
  });

  it('HL7 examples: a penicillin G allergy against active amoxicillin is critical (high criticality); the same statement entered in error, or a cashew allergy, is silent', () => {
    const allergy = hl7('allergyintolerance-medication');
    const amoxicillin = hl7('medicationstatementexample4');
    const cards = runRules(input([allergy, amoxicillin]));
    expect(cards).toHaveLength(1);
    expect(cards[0]).toMatchObject({ rule: 'allergy-medication', indicator: 'critical', cites: [{ resourceType: 'AllergyIntolerance', id: 'medication' }, { resourceType: 'MedicationStatement', id: 'example004' }] });
    expect(cards[0]!.summary).toBe('Allergy to Penicillin G and active Amoxicillin (product)');
    expect(cards[0]!.detail).toContain('(penicillin)');
    expect(cards[0]!.detail).toContain('2010-03-01'); // when the allergy was recorded
    expect(runRules(input([allergy, hl7('medicationstatementexample5')]))).toEqual([]); // entered-in-error
    expect(runRules(input([hl7('allergyintolerance-example'), amoxicillin]))).toEqual([]); // cashew nuts
    // Tylenol PM (contained Medication: acetaminophen, diphenhydramine) is no penicillin.
    expect(runRules(input([allergy, hl7('medicationstatementexample1')]))).toEqual([]);
  });

  it('HL7 examples: warfarin (contained Medication) with an INR above 3 fires; the glucose "H" and the blood pressure "L" are not critical', () => {
    const inr = { resourceType: 'Observation', id: 'inr', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '6301-6' }] }, effectiveDateTime: '2015-02-01T08:00:00Z', valueQuantity: { value: 4.2 } };
    const cards = runRules(input([hl7('medicationrequest0331'), inr]));
    expect(cards.map((c) => c.rule)).toEqual(['inr-warfarin']);
    expect(cards[0]!.detail).toContain('Warfarin Sodium');
    expect(cards[0]!.detail).toContain('2015-02-01 08:00 UTC');
    expect(runRules(input([hl7('observation-example-f001-glucose'), hl7('observation-example-bloodpressure')]))).toEqual([]);
  });

  it('a critical value: interpretation HH or LL (also on a component), or outside a range typed critical', () => {
    const glucose = hl7('observation-example-f001-glucose') as Record<string, unknown>;
    const hh = { ...glucose, interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'HH' }] }] };
    const [card] = runRules(input([hh]));
    expect(card).toMatchObject({ rule: 'critical-value', indicator: 'critical', cites: [{ resourceType: 'Observation', id: 'f001' }] });
    expect(card!.summary).toBe('Critical value: Glucose [Moles/volume] in Blood 6.3 mmol/l');
    expect(card!.detail).toContain('HH (critically high)');
    const bp = hl7('observation-example-bloodpressure') as { component: Record<string, unknown>[] };
    const ll = { ...bp, component: [bp.component[0], { ...bp.component[1], interpretation: [{ coding: [{ code: 'LL' }] }] }] };
    expect(runRules(input([ll]))[0]!.summary).toBe('Critical value: Diastolic blood pressure 60 mmHg');
    const ranged = { ...glucose, interpretation: [], referenceRange: [{ low: { value: 2.5 }, high: { value: 6.0 }, type: { text: 'Critical' } }] };
    expect(runRules(input([ranged]))[0]!.detail).toContain('outside the critical range 2.5–6');
  });

  it('real Synthea records: only what applies fires (every card cites resources of the record)', () => {
    for (const b of [syntheaCarroll(), syntheaMargie()]) {
      const resources = bundleResources(b);
      const ids = new Set(resources.map((r) => `${String(r['resourceType'])}/${String(r['id'])}`));
      const cards = runRules(input(resources));
      for (const c of cards) for (const cite of c.cites) expect(ids.has(`${cite.resourceType}/${cite.id}`)).toBe(true);
      // Synthea writes no HH/LL interpretations and no potassium with an ACE inhibitor in these records.
      expect(cards.filter((c) => c.rule === 'critical-value' || c.rule === 'hyperkalaemia-raas')).toEqual([]);
    }
  });

  it('the service answers CDS Hooks cards: a stable uuid per rule and resource, the source labelled as rules, cites in the extension', () => {
    const resources = demoResources();
    const bundle = (type: string) => ({ resourceType: 'Bundle', type: 'searchset', entry: resources.filter((r) => r['resourceType'] === type).map((resource) => ({ resource })) });
    const prefetch = { observations: bundle('Observation'), medicationStatements: bundle('MedicationStatement'), allergies: bundle('AllergyIntolerance') };
    const a = builtinCards({ prefetch });
    const b = builtinCards({ prefetch });
    expect(a.map((c) => c.uuid)).toEqual(b.map((c) => c.uuid));
    expect(a[0]!.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a[0]!.source.label).toBe('Consilium built-in rules (rules, not advice)');
    expect(a[0]!.extension?.['consilium-cites']).toHaveLength(2);
    expect(builtinCards({ prefetch: {} })).toEqual([]);
  });
});
