import type { FhirResource, R4ResourceType } from '../../../shared/src/fhir.ts';
import type { CaseTypeRead } from '../../../shared/src/http.ts';
import { caseViewFor, type CaseEntry, type PreparedCase, type Variant } from './case-view.ts';

/** What the audit row says of one requested type: which copy, how many (0 included), or the refusal. */
export type TypeDisclosure = { variant: Variant; count: number } | { code: 'SCOPE_DENIED' };

export interface TypesRead {
  /** Per requested type, in the order asked. */
  answer: CaseTypeRead[];
  /** Every copy sent, all types together (the audit row's `resources`). */
  disclosed: CaseEntry[];
  /** Per requested type, for the audit row. */
  perType: Partial<Record<R4ResourceType, TypeDisclosure>>;
  /** Requested types the reader gets no copy of. */
  denied: R4ResourceType[];
}

/**
 * A read of several types, each exactly as a single-type read gives it: `reader.variantFor`
 * is the policy's choice per type (auth/policy.ts resourceVariant); null refuses the type and
 * nothing of it is sent. `rows` holds, per readable type, its newest from the offset on, up
 * to `limit` + 1 (the one more only says that there is more; it is neither sent nor audited).
 */
export function readTypes(
  c: PreparedCase,
  types: readonly R4ResourceType[],
  rows: ReadonlyMap<R4ResourceType, readonly FhirResource[]>,
  reader: { identified: boolean; variantFor: (type: R4ResourceType) => Variant | null },
  page: { limit: number; offset: number },
): TypesRead {
  const out: TypesRead = { answer: [], disclosed: [], perType: {}, denied: [] };
  for (const type of types) {
    const variant = reader.variantFor(type);
    if (variant === null) {
      out.answer.push({ type, status: 'denied', code: 'SCOPE_DENIED' });
      out.perType[type] = { code: 'SCOPE_DENIED' };
      out.denied.push(type);
      continue;
    }
    const found = rows.get(type) ?? [];
    const { view, disclosed } = caseViewFor(c, found.slice(0, page.limit).filter((r) => r.resourceType === type), reader);
    out.answer.push({ type, status: 'read', resources: view.resources, nextOffset: found.length > page.limit ? page.offset + page.limit : null });
    out.perType[type] = { variant, count: disclosed.length };
    out.disclosed.push(...disclosed);
  }
  return out;
}
