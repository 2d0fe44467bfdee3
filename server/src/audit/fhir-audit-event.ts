import type { AuditRow } from './audit-log.ts';

/**
 * Export an audit row as a FHIR R4 AuditEvent. Disclosures map to the DICOM
 * "Export" type (110106); access and security events to "User Authentication"
 * / "Security Alert"; everything else to rest / application activity.
 */
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const TYPE: Record<string, { code: string; display: string }> = {
  disclosure: { code: '110106', display: 'Export' },
  'disclosure.revoked': { code: '110106', display: 'Export' },
  'case.read': { code: '110106', display: 'Export' },
  'cds.call': { code: '110106', display: 'Export' },
  'cds.share': { code: '110106', display: 'Export' },
  'case.import': { code: '110107', display: 'Import' },
  'observation.ingest': { code: '110107', display: 'Import' },
  'imaging.upload': { code: '110107', display: 'Import' },
  'imaging.series-open': { code: '110106', display: 'Export' },
  'ticket.issued': { code: '110114', display: 'User Authentication' },
  'ticket.refused': { code: '110114', display: 'User Authentication' },
  'room.join': { code: '110114', display: 'User Authentication' },
  'room.leave': { code: '110114', display: 'User Authentication' },
  'break-glass.request': { code: '110113', display: 'Security Alert' },
  'break-glass.approve': { code: '110113', display: 'Security Alert' },
  'break-glass.deny': { code: '110113', display: 'Security Alert' },
  'break-glass.expire': { code: '110113', display: 'Security Alert' },
};

const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

/** A case read's `types` ({ Condition: { variant, count } | { code } }), each as "2 identified" or, refused, its code. */
function typesOf(value: unknown): { type: string; text: string; refused: boolean }[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).map(([type, d]) => {
    const o = (d ?? {}) as { count?: unknown; variant?: unknown; code?: unknown };
    const read = typeof o.count === 'number';
    return { type, text: read ? `${o.count} ${String(o.variant ?? '')}`.trim() : String(o.code ?? 'unknown'), refused: !read };
  });
}

export function toAuditEvent(row: AuditRow): Record<string, unknown> {
  const type = TYPE[row.action] ?? { code: '110100', display: 'Application Activity' };
  const entity: Record<string, unknown>[] = [];
  if (row.patientId) entity.push({ what: { reference: `Patient/${row.patientId}` }, type: { system: ENTITY_TYPE, code: '1', display: 'Person' } });
  const resources = Array.isArray(row.details['resources']) ? (row.details['resources'] as unknown[]) : [];
  for (const r of resources) if (typeof r === 'string') entity.push({ what: { reference: r } });
  if (row.roomId) entity.push({ what: { identifier: { system: 'urn:consilium:room', value: row.roomId } } });
  const perType = typesOf(row.details['types']);
  // A read of several types: the query, with per type what was sent (how many, which copy) or the refusal.
  if (perType.length) entity.push({ type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '24', display: 'Query' }, description: 'Case resources read by type', detail: perType.map((t) => ({ type: t.type, valueString: t.text })) });
  const withheld = perType.filter((t) => t.refused);
  return {
    resourceType: 'AuditEvent',
    id: String(row.seq),
    type: { system: DCM, code: type.code, display: type.display },
    subtype: [{ system: 'urn:consilium:audit-action', code: row.action }],
    action: row.action.startsWith('disclosure') || row.action === 'case.read' || row.action === 'imaging.series-open' ? 'R' : 'E',
    recorded: row.at,
    outcome: row.outcome === 'success' ? '0' : '4',
    ...(withheld.length ? { outcomeDesc: `Withheld: ${withheld.map((t) => `${t.type} (${t.text})`).join(', ')}` } : {}),
    agent: [
      { who: { identifier: { system: 'urn:consilium:user', value: row.actor } }, requestor: true },
      ...(row.subject && row.subject !== row.actor ? [{ who: { identifier: { system: 'urn:consilium:user', value: row.subject } }, requestor: false }] : []),
    ],
    source: { observer: { display: 'Consilium' } },
    entity,
    extension: [
      { url: 'urn:consilium:audit:details', valueString: JSON.stringify(row.details) },
      { url: 'urn:consilium:audit:hash', valueString: row.hash },
    ],
  };
}
