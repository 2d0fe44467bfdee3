import type { CaseRecord } from '../db/cases.repo.ts';
import type { PreparedCase } from '../domain/case-view.ts';

export function preparedCase(record: Pick<CaseRecord, 'id' | 'patientId' | 'pseudonymKey' | 'dateShiftDays'>, now = new Date()): PreparedCase {
  return { id: record.id, patientId: record.patientId, key: { pseudonymKey: record.pseudonymKey, dateShiftDays: record.dateShiftDays, now } };
}
