import { z } from 'zod';
import { safeText } from '../../../shared/src/text.ts';
import { CDS_INDICATORS } from '../../../shared/src/cds.ts';
import type { FhirResource } from '../../../shared/src/fhir.ts';

/**
 * CDS Hooks 2.0 as Consilium speaks it (client and built-in service alike):
 * the discovery answer, a `patient-view` request, a card answer, feedback.
 * Everything a service answers is untrusted: lengths are bounded, text obeys
 * the shared text rule, and what does not parse is dropped.
 */
export const HOOK = 'patient-view';

const ServiceId = z.string().regex(/^[A-Za-z0-9._~-]{1,100}$/);
export const DiscoveredService = z.object({
  hook: z.string().max(100),
  id: ServiceId,
  title: safeText({ max: 200 }).optional(),
  description: safeText({ max: 2000 }).default(''),
  prefetch: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.string().max(500)).optional(),
});
export type DiscoveredService = z.infer<typeof DiscoveredService>;
export const Discovery = z.object({ services: z.array(z.unknown()).max(100) });

const Coding = z.object({ code: safeText({ max: 100 }), system: safeText({ max: 300 }).optional(), display: safeText({ max: 200 }).optional() });
export const Card = z.object({
  uuid: safeText({ max: 100 }).optional(),
  summary: safeText({ max: 140 }).min(1),
  detail: safeText({ max: 10_000 }).optional(),
  indicator: z.enum(CDS_INDICATORS),
  source: z.object({ label: safeText({ max: 200 }), url: safeText({ max: 2000 }).optional(), topic: Coding.optional() }),
  suggestions: z.array(z.object({ label: safeText({ max: 300 }), uuid: safeText({ max: 100 }).optional(), isRecommended: z.boolean().optional() })).max(10).optional(),
  selectionBehavior: z.string().max(20).optional(),
  overrideReasons: z.array(Coding).max(20).optional(),
  links: z.array(z.object({ label: safeText({ max: 200 }), url: safeText({ max: 2000 }), type: z.string().max(20) })).max(10).optional(),
  /** Consilium's built-in service names the resources each card cites (id as sent in the prefetch). */
  extension: z.object({ 'consilium-cites': z.array(z.object({ resourceType: z.string().max(64), id: z.string().max(100) })).max(50).optional() }).loose().optional(),
});
export type Card = z.infer<typeof Card>;
/** Cards a service may answer with in one call (the rest are dropped). */
export const MAX_CARDS = 20;
export const CardsAnswer = z.object({ cards: z.array(z.unknown()).max(100) });

export interface PatientViewRequest {
  hook: typeof HOOK;
  hookInstance: string;
  context: { userId: string; patientId: string };
  prefetch: Record<string, FhirResource | null>;
}

/** The request a service receives, checked on our own endpoint (the built-in service). */
export const PatientViewRequest = z.object({
  hook: z.literal(HOOK),
  hookInstance: z.string().max(100),
  context: z.object({ userId: z.string().max(200), patientId: z.string().max(100) }).loose(),
  prefetch: z.record(z.string(), z.unknown()).optional(),
  fhirServer: z.never().optional(),
  fhirAuthorization: z.never().optional(),
});

export interface FeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  outcomeTimestamp: string;
  acceptedSuggestions?: { id: string }[];
  overrideReason?: { reason?: { code: string; system?: string; display?: string }; userComment?: string };
}
