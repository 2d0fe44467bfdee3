import { z } from 'zod';
import { safeText } from './text.ts';

/**
 * Decision support in the room (CDS Hooks 2.0): what a participant's client
 * sees of a card, and the two room messages about cards. A card reaches only
 * the participant it was computed for (`cds.cards`); shared, it reaches those
 * whose access covers every resource it was computed from, and the others
 * learn only that a card was shared (`cds.shared` with `card: null`).
 * Suggestions are shown, never executed: Consilium writes nothing to the EHR.
 */
export const CDS_INDICATORS = ['info', 'warning', 'critical'] as const;
export type CdsIndicator = (typeof CDS_INDICATORS)[number];

export interface CdsCardView {
  /** Consilium's id for this card in this room (not the service's uuid). */
  id: string;
  summary: string;
  /** The service's explanation (plain text; markdown is shown as written). */
  detail: string | null;
  indicator: CdsIndicator;
  source: { label: string; url: string | null; topic: string | null };
  /** The service that produced it. */
  service: { id: string; title: string; builtin: boolean };
  /** Shown, never executed. */
  suggestions: { label: string; uuid: string | null; isRecommended: boolean }[];
  /** https (or relative) links of type `absolute` the service gave; SMART app links are not launched. */
  links: { label: string; url: string }[];
  /** Keys of the case entries (state.caseEntries) the card cites: the source resources, as this participant sees them. */
  sources: string[];
  /** Reasons the service offers for overriding (dismissing) the card. */
  overrideReasons: { code: string; system: string | null; display: string }[];
  /** When it was computed (ms since epoch, server clock). */
  computedAt: number;
}

/** Server → one participant: their current cards (the whole list; an empty list withdraws them). */
export interface CdsCardsMessage {
  cards: CdsCardView[];
}

/** Server → participants: someone shared a card; `card` is null for those whose access does not cover it. */
export interface CdsSharedMessage {
  cardId: string;
  by: { userId: string; name: string };
  card: CdsCardView | null;
  indicator: CdsIndicator;
}

const CardId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'card ids are 1–64 of A-Z a-z 0-9 _ -');

export const CdsShare = z.strictObject({ cardId: CardId });
export const CdsFeedback = z.strictObject({
  cardId: CardId,
  outcome: z.enum(['accepted', 'overridden']),
  /** Overridden: one of the card's override reason codes, and/or a comment. */
  reasonCode: safeText({ max: 100 }).optional(),
  comment: safeText({ max: 500 }).optional(),
  /** Accepted: the suggestion (by its uuid) the participant agreed with. Nothing is executed. */
  suggestion: safeText({ max: 100 }).optional(),
});

export const CdsMessages = { 'cds.share': CdsShare, 'cds.feedback': CdsFeedback } as const;

export interface CdsReplies {
  'cds.share': { cardId: string; shownTo: number; withheldFrom: number };
  'cds.feedback': { cardId: string; outcome: 'accepted' | 'overridden'; delivered: boolean };
}
