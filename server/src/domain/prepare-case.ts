import type { CaseRecord } from '../db/cases.repo.ts';
import type { PreparedCase } from './case-view.ts';

/** A stored case as rooms and HTTP reads disclose it: ids, pseudonym key and date shift, fixed at "now". */
export function preparedCase(record: Pick<CaseRecord, 'id' | 'patientId' | 'pseudonymKey' | 'dateShiftDays'>, now = new Date()): PreparedCase {
  return { id: record.id, patientId: record.patientId, key: { pseudonymKey: record.pseudonymKey, dateShiftDays: record.dateShiftDays, now } };
}
