/** Data-access presets an IT admin picks from instead of typing SMART scopes. */
export interface ScopePreset {
  id: string;
  label: string;
  scopes: string[] | null; // null → the role's defaults
}

export const SCOPE_PRESETS: ScopePreset[] = [
  { id: 'default', label: 'Role default', scopes: null },
  { id: 'full', label: 'Full record (identified)', scopes: ['patient/*.rs'] },
  { id: 'clinical', label: 'Clinical summary, no documents', scopes: ['patient/Patient.rs', 'patient/Observation.rs', 'patient/Condition.rs', 'patient/AllergyIntolerance.rs', 'patient/MedicationStatement.rs', 'patient/Procedure.rs', 'patient/ImagingStudy.rs'] },
  { id: 'vitals', label: 'Vitals and labs only', scopes: ['patient/Observation.rs'] },
  { id: 'imaging', label: 'Imaging only', scopes: ['patient/ImagingStudy.rs'] },
  { id: 'teaching', label: 'De-identified (teaching)', scopes: ['deidentified', 'patient/Observation.rs', 'patient/Condition.rs', 'patient/ImagingStudy.rs'] },
  { id: 'custom', label: 'Custom scopes…', scopes: null },
];

/** What each role gets by default, in words (mirrors the server's defaults, shown as help). */
export const ROLE_DEFAULT_TEXT: Record<string, string> = {
  host: 'full record',
  clinician: 'full record',
  surgeon: 'full record',
  specialist: 'full record',
  observer: 'de-identified vitals, problems and imaging',
};

export function presetFor(scopes: string[] | null | undefined): ScopePreset {
  if (!scopes) return SCOPE_PRESETS[0]!;
  const key = [...scopes].sort().join(' ');
  return SCOPE_PRESETS.find((p) => p.scopes && [...p.scopes].sort().join(' ') === key) ?? SCOPE_PRESETS[SCOPE_PRESETS.length - 1]!;
}

/** A validation error's details → sentences naming the participant and field, not JSON paths. */
export function plainDetails(details: unknown): string[] {
  const issues = Array.isArray(details) ? details : (details as { issues?: unknown[] } | undefined)?.issues ?? [];
  return (issues as { path?: string | (string | number)[]; message?: string }[]).map((i) => {
    const raw = typeof i.path === 'string' ? i.path.split('.').filter(Boolean) : i.path ?? [];
    const path = raw.map((x) => (typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x));
    const where: string[] = [];
    for (let k = 0; k < path.length; k++) {
      const p = path[k];
      if (p === 'participants' && typeof path[k + 1] === 'number') where.push(`Participant ${Number(path[++k]) + 1}`);
      else if (p === 'scopes' && typeof path[k + 1] === 'number') where.push(`scope ${Number(path[++k]) + 1}`);
      else if (p === 'userId') where.push('user');
      else if (p === 'caseId') where.push('case');
      else if (typeof p === 'string') where.push(p);
    }
    return `${where.length ? `${where.join(', ')}: ` : ''}${i.message ?? 'invalid'}`;
  });
}
