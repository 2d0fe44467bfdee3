import { createHash } from 'node:crypto';
import express, { Router } from 'express';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import type { FhirResource } from '../../../shared/src/fhir.ts';
import { findUnsafeText } from '../../../shared/src/text.ts';
import { AppError } from '../errors.ts';
import { HOOK, PatientViewRequest, type Card, type DiscoveredService } from './hooks.ts';
import { runRules, type RuleCard } from './rules.ts';

/**
 * The built-in rule service (rules.ts), speaking CDS Hooks 2.0 on this server
 * (`GET /cds-services`, `POST /cds-services/consilium-rules`, `…/feedback`).
 * Rooms call it in-process with the same request a remote service would get;
 * over HTTP it answers only calls signed with Consilium's own CDS client key
 * (it is Consilium's service, not a public rule engine).
 */
export const BUILTIN_ID = 'consilium-rules';
export const BUILTIN_SOURCE = 'Consilium built-in rules (rules, not advice)';

export const BUILTIN_SERVICE: DiscoveredService = {
  hook: HOOK,
  id: BUILTIN_ID,
  title: 'Consilium built-in rules',
  description:
    'Fixed rules over the data the participant may see, not clinical advice: allergy vs active medication (ingredient or class), ' +
    'potassium above range with an ACE inhibitor, ARB or potassium-sparing diuretic, INR above 3.0 on warfarin, critical values (HH/LL or outside a critical range).',
  prefetch: {
    observations: 'Observation?patient={{context.patientId}}',
    medicationStatements: 'MedicationStatement?patient={{context.patientId}}',
    medicationRequests: 'MedicationRequest?patient={{context.patientId}}',
    allergies: 'AllergyIntolerance?patient={{context.patientId}}',
  },
};

const bundled = (v: unknown): FhirResource[] => {
  const entries = (v as { entry?: unknown } | null)?.entry;
  return Array.isArray(entries) ? entries.map((e) => (e as { resource?: FhirResource })?.resource).filter((r): r is FhirResource => typeof r?.resourceType === 'string') : [];
};

/** Cards for one patient-view request (prefetch only: the built-in service reads nothing else). */
export function builtinCards(request: { prefetch?: Record<string, unknown> }): Card[] {
  const p = request.prefetch ?? {};
  const rules = runRules({
    observations: bundled(p['observations']),
    medications: [...bundled(p['medicationStatements']), ...bundled(p['medicationRequests'])],
    allergies: bundled(p['allergies']),
  });
  return rules.map(toCard);
}

function toCard(r: RuleCard): Card {
  return {
    uuid: stableUuid(r.key),
    summary: r.summary,
    detail: r.detail,
    indicator: r.indicator,
    source: { label: BUILTIN_SOURCE, topic: { code: r.rule, system: 'urn:consilium:cds-rule', display: r.rule } },
    suggestions: r.suggestions.map((label, i) => ({ label, uuid: stableUuid(`${r.key}#${i}`), isRecommended: false })),
    overrideReasons: [
      { code: 'not-relevant', system: 'urn:consilium:cds-override', display: 'Not relevant for this patient' },
      { code: 'already-addressed', system: 'urn:consilium:cds-override', display: 'Already addressed' },
      { code: 'benefit-outweighs-risk', system: 'urn:consilium:cds-override', display: 'Benefit outweighs risk' },
    ],
    extension: { 'consilium-cites': r.cites },
  };
}

/** Same rule on the same resources → same uuid (feedback and de-duplication refer to it). */
function stableUuid(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The HTTP face of the built-in service. `issuer()` is this server's base URL (the `iss` and `aud` of our own calls). */
export function builtinRoutes(opts: { issuer: () => string; jwks: () => Promise<{ keys: JWK[] }> }): Router {
  const router = Router();
  router.get('/cds-services', (_req, res) => void res.json({ services: [BUILTIN_SERVICE] }));
  const verify = (path: string): express.RequestHandler => async (req, _res, next) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return next(new AppError('AUTH_REQUIRED'));
    try {
      await jwtVerify(token, createLocalJWKSet(await opts.jwks()), { issuer: opts.issuer(), audience: `${opts.issuer()}${path}`, algorithms: ['ES384'], maxTokenAge: '5m', requiredClaims: ['jti', 'iat', 'exp'] });
      next();
    } catch {
      next(new AppError('AUTH_INVALID'));
    }
  };
  const body = express.json({ limit: 2 * 1024 * 1024 });
  router.post(`/cds-services/${BUILTIN_ID}`, verify(`/cds-services/${BUILTIN_ID}`), body, (req, res) => {
    if (findUnsafeText(req.body)) throw new AppError('BODY_INVALID');
    const parsed = PatientViewRequest.safeParse(req.body);
    if (!parsed.success) throw new AppError('BODY_INVALID', 'expected a patient-view request without fhirServer or fhirAuthorization');
    res.json({ cards: builtinCards(parsed.data) });
  });
  // Outcomes are audited by the caller (Consilium); the rules keep no state.
  router.post(`/cds-services/${BUILTIN_ID}/feedback`, verify(`/cds-services/${BUILTIN_ID}/feedback`), body, (_req, res) => void res.json({}));
  return router;
}
