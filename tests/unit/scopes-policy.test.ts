import { describe, expect, it } from 'vitest';
import { accessCovers, accessToScope, cdsCardVisibleTo, breakGlassMode, defaultScopes, isKnownScope, parseScopes, resourceVariant, withGrants, type DataAccess } from '../../server/src/auth/policy.ts';
import { CASE_RESOURCE_TYPES, R4_RESOURCE_TYPES, ROOM_ROLES, type CaseResourceType, type RoomRole } from '../../shared/src/index.ts';
import { Scope } from '../../shared/src/http.ts';

const OBSERVER_TYPES: CaseResourceType[] = ['Observation', 'Condition', 'ImagingStudy'];

/** Expected variant for each role's default scopes × resource type, written out. */
function expectedDefault(role: RoomRole, type: CaseResourceType): 'identified' | 'deidentified' | null {
  if (role === 'observer') return OBSERVER_TYPES.includes(type) || type === 'Patient' ? 'deidentified' : null;
  return 'identified';
}

describe('scope policy: role × resource type (default scopes)', () => {
  for (const role of ROOM_ROLES) {
    for (const type of CASE_RESOURCE_TYPES) {
      it(`${role} → ${type}: ${expectedDefault(role, type) ?? 'nothing'}`, () => {
        expect(resourceVariant(parseScopes(defaultScopes(role)), type)).toBe(expectedDefault(role, type));
      });
    }
  }
});

describe('scopes for stored R4 types Consilium has no rule for', () => {
  it('patient/<AnyR4Type>.rs names that type; names that are not R4 types grant nothing', () => {
    expect([...parseScopes('patient/Claim.rs patient/ExplanationOfBenefit.read').types].sort()).toEqual(['Claim', 'ExplanationOfBenefit']);
    expect([...parseScopes('patient/claim.rs patient/Claims.rs patient/__proto__.rs patient/constructor.rs').types]).toEqual([]);
    expect(isKnownScope('patient/CarePlan.rs')).toBe(true);
    expect(isKnownScope('patient/Banana.rs')).toBe(false);
    expect(Scope.safeParse('patient/Practitioner.rs').success).toBe(true);
    expect(Scope.safeParse('patient/Banana.rs').success).toBe(false);
  });

  it('identified viewers whose scopes name the type see it; de-identified viewers never do (no rule, no copy)', () => {
    expect(resourceVariant(parseScopes('patient/Claim.rs patient/Patient.rs'), 'Claim')).toBe('identified');
    // Without Patient scope, the claim comes without the patient's identity.
    expect(resourceVariant(parseScopes('patient/Claim.rs'), 'Claim')).toBe('identity-withheld');
    expect(resourceVariant(parseScopes('patient/Observation.rs'), 'Claim')).toBeNull();
    expect(resourceVariant(parseScopes('patient/*.rs'), 'Practitioner')).toBe('identified');
    for (const scope of ['deidentified patient/Claim.rs', 'deidentified patient/*.rs', 'deidentified patient/Practitioner.rs patient/Observation.rs']) {
      for (const t of ['Claim', 'Practitioner', 'Organization', 'Location', 'CarePlan', 'Composition'] as const) expect(resourceVariant(parseScopes(scope), t), `${scope} ${t}`).toBeNull();
    }
    // Nothing readable de-identified → not even the patient summary.
    expect(resourceVariant(parseScopes('deidentified patient/Claim.rs patient/Practitioner.rs'), 'Patient')).toBeNull();
    // Types with a rule keep it for de-identified viewers.
    for (const t of ['Encounter', 'MedicationRequest', 'Immunization', 'DiagnosticReport', 'Medication'] as const) expect(resourceVariant(parseScopes('deidentified patient/*.rs'), t)).toBe('deidentified');
  });

  it('writes "every type" back as patient/*.rs (annotations carry it), and round-trips', () => {
    expect(accessToScope(parseScopes('patient/*.rs'))).toBe('patient/*.rs');
    expect(accessToScope(parseScopes('deidentified patient/Observation.rs patient/Claim.rs'))).toBe('deidentified patient/Claim.rs patient/Observation.rs');
    const wide = parseScopes('deidentified patient/*.rs');
    expect(parseScopes(accessToScope(wide))).toEqual(wide);
  });
});

describe('scope parsing', () => {
  it('grants read only with r or s; ignores write-only, unknown types and other contexts', () => {
    expect([...parseScopes('patient/Observation.rs').types]).toEqual(['Observation']);
    expect([...parseScopes('patient/Observation.s').types]).toEqual(['Observation']);
    expect([...parseScopes('patient/Observation.cud').types]).toEqual([]);
    expect([...parseScopes('patient/Banana.rs user/*.rs system/*.rs').types]).toEqual([]);
    expect(parseScopes('patient/*.rs').types.size).toBe(R4_RESOURCE_TYPES.length);
    expect([...parseScopes('patient/Condition.read').types]).toEqual(['Condition']); // SMART v1
    expect(parseScopes('').types.size).toBe(0);
  });

  it('deidentified makes every readable type de-identified, whatever else is granted', () => {
    const a = parseScopes('deidentified patient/*.rs');
    for (const t of CASE_RESOURCE_TYPES) expect(resourceVariant(a, t)).toBe('deidentified');
  });

  it('with no readable type, nothing at all — not even the de-identified patient summary', () => {
    expect(resourceVariant(parseScopes('deidentified'), 'Patient')).toBeNull();
    expect(resourceVariant(parseScopes(''), 'Patient')).toBeNull();
  });

  it('an identified reader without Patient scope does not get the patient summary, nor the patient\'s identity elsewhere', () => {
    expect(resourceVariant(parseScopes('patient/Observation.rs'), 'Patient')).toBeNull();
    expect(resourceVariant(parseScopes('patient/Observation.rs'), 'Observation')).toBe('identity-withheld');
    // Every type but the Patient: still without identity; RelatedPerson and Person are identity, so not at all.
    const allButPatient = parseScopes(R4_RESOURCE_TYPES.filter((t) => t !== 'Patient').map((t) => `patient/${t}.rs`));
    for (const t of ['Encounter', 'Claim', 'Practitioner'] as const) expect(resourceVariant(allButPatient, t), t).toBe('identity-withheld');
    for (const t of ['Patient', 'RelatedPerson', 'Person'] as const) expect(resourceVariant(allButPatient, t), t).toBeNull();
    for (const t of ['RelatedPerson', 'Person'] as const) expect(resourceVariant(parseScopes('patient/*.rs'), t), t).toBe('identified');
  });
});

describe('break-glass in the policy', () => {
  it('grants add types but never turn de-identified into identified', () => {
    const obs = withGrants(parseScopes(defaultScopes('observer')), ['MedicationStatement']);
    expect(resourceVariant(obs, 'MedicationStatement')).toBe('deidentified');
    const spec = withGrants(parseScopes('patient/Observation.rs'), ['DocumentReference']);
    expect(resourceVariant(spec, 'DocumentReference')).toBe('identity-withheld');
    expect(resourceVariant(spec, 'Procedure')).toBeNull();
    // A grant of the Patient brings the identity to everything else readable.
    const withPatient = withGrants(spec, ['Patient']);
    for (const t of ['Patient', 'Observation', 'DocumentReference'] as const) expect(resourceVariant(withPatient, t), t).toBe('identified');
  });

  it.each([
    ['host', ['surgeon'], 'approval'],
    ['clinician', ['surgeon'], 'approval'],
    ['specialist', ['surgeon'], 'approval'],
    ['surgeon', ['surgeon'], 'self-grant'],
    ['observer', ['surgeon'], null],
    ['observer', ['observer'], null],
    ['clinician', ['clinician', 'surgeon'], 'self-grant'],
  ] as const)('%s with self-grant roles %j → %s', (role, selfGrant, mode) => {
    expect(breakGlassMode(role, selfGrant)).toBe(mode);
  });
});

describe('annotation visibility (author access travels with it)', () => {
  const full = parseScopes('patient/*.rs');
  const obsOnly = parseScopes('patient/Observation.rs');
  const deid = parseScopes('deidentified patient/*.rs');
  const cases: [string, DataAccess, DataAccess, boolean][] = [
    ['full sees full', full, full, true],
    ['narrow does not see full', obsOnly, full, false],
    ['full sees narrow', full, obsOnly, true],
    ['de-identified does not see identified', deid, obsOnly, false],
    ['identified sees de-identified', full, deid, true],
    ['public annotation', deid, parseScopes(''), false],
  ];
  it.each(cases)('%s', (_name, viewer, author, visible) => {
    // an author with no access at all is "identified with no types": covered by identified viewers only
    expect(accessCovers(viewer, author)).toBe(visible);
  });
});

describe('decision-support card visibility (what the service could have used)', () => {
  const full = parseScopes('patient/*.rs');
  const obsOnly = parseScopes('patient/Observation.rs');
  const obsPatient = parseScopes('patient/Observation.rs patient/Patient.rs');
  const deidObs = parseScopes('deidentified patient/Observation.rs patient/Condition.rs');
  const idObs = [{ resourceType: 'Observation' as const, variant: 'identified' as const }];
  const deObs = [{ resourceType: 'Observation' as const, variant: 'deidentified' as const }];
  const cases: [string, DataAccess, Parameters<typeof cdsCardVisibleTo>[1], boolean][] = [
    // Built-in rules: exactly the cited copies.
    ['built-in, identified Observation: reader with identified Observation', obsPatient, { author: full, cites: idObs }, true],
    ['built-in, identified Observation: identity-withheld reader', obsOnly, { author: full, cites: idObs }, false],
    ['built-in, identified Observation: de-identified reader', deidObs, { author: full, cites: idObs }, false],
    ['built-in, de-identified Observation: de-identified reader', deidObs, { author: deidObs, cites: deObs }, true],
    // Any other service: the author's whole access, even when nothing was sent.
    ['service, nothing sent, identified author: de-identified reader', deidObs, { author: full, cites: null }, false],
    ['service, nothing sent, identified author: narrower identified reader', obsPatient, { author: full, cites: null }, false],
    ['service, nothing sent, identified author: same access', full, { author: full, cites: null }, true],
    ['service, identity-withheld author: reader with Patient too', obsPatient, { author: obsOnly, cites: null }, true],
    ['service, identity-withheld author: de-identified reader', deidObs, { author: obsOnly, cites: null }, false],
    ['service, de-identified author: de-identified reader with those types', deidObs, { author: deidObs, cites: null }, true],
    ['service, de-identified author: identified reader missing a type', obsPatient, { author: deidObs, cites: null }, false],
  ];
  it.each(cases)('%s', (_name, reader, basis, visible) => {
    expect(cdsCardVisibleTo(reader, basis)).toBe(visible);
  });
});

describe('scope policy: scope set × resource type × break-glass (full matrix)', () => {
  const SCOPE_SETS: Record<string, string> = {
    none: '',
    all: 'patient/*.rs',
    'observations only': 'patient/Observation.rs',
    'imaging + documents': 'patient/ImagingStudy.rs patient/DocumentReference.r',
    'de-identified all': 'deidentified patient/*.rs',
    'de-identified observer': 'deidentified patient/Observation.rs patient/Condition.rs patient/ImagingStudy.rs',
    'write only': 'patient/*.cud',
  };
  const GRANTS: CaseResourceType[][] = [[], ['MedicationStatement'], ['Patient', 'Procedure']];

  // Independent statement of the rule, from the README.
  function expected(scope: string, type: CaseResourceType, grants: CaseResourceType[]): 'identified' | 'identity-withheld' | 'deidentified' | null {
    const tokens = scope.split(' ').filter(Boolean);
    const deid = tokens.includes('deidentified');
    const readable = new Set<string>(grants);
    for (const t of tokens) {
      const m = /^patient\/(\*|\w+)\.(\w+)$/.exec(t);
      if (m && /[rs]/.test(m[2]!)) (m[1] === '*' ? CASE_RESOURCE_TYPES : [m[1]!]).forEach((x) => readable.add(x));
    }
    const sees = readable.has(type) || (deid && type === 'Patient' && readable.size > 0);
    if (!sees) return null;
    if (deid) return 'deidentified';
    return readable.has('Patient') ? 'identified' : 'identity-withheld';
  }

  for (const [name, scope] of Object.entries(SCOPE_SETS)) {
    for (const grants of GRANTS) {
      it(`${name}${grants.length ? ` + break-glass ${grants.join(',')}` : ''}`, () => {
        const access = withGrants(parseScopes(scope), grants);
        for (const type of CASE_RESOURCE_TYPES) expect(resourceVariant(access, type), type).toBe(expected(scope, type, grants));
      });
    }
  }
});

describe('participants with the same access share one DataAccess (issue 20: memory per seat)', () => {
  it('equal scopes, in any order or spelling, give the same frozen object; different ones do not', () => {
    const a = parseScopes('patient/*.rs');
    expect(parseScopes(['patient/*.read'])).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    const b = parseScopes('patient/Observation.rs patient/Condition.rs');
    expect(parseScopes('patient/Condition.read patient/Observation.rs')).toBe(b);
    expect(parseScopes('patient/Condition.rs patient/Observation.rs deidentified')).not.toBe(b);
    expect(withGrants(b, ['Observation'])).toBe(b);
    expect(withGrants(b, ['Procedure'])).not.toBe(b);
    expect([...withGrants(b, ['Procedure']).types].sort()).toEqual(['Condition', 'Observation', 'Procedure']);
  });
});
