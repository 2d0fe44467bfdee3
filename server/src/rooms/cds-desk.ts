import { createHash, randomUUID } from 'node:crypto';
import type { CdsCardView } from '../../../shared/src/cds.ts';
import type { ClientMessage, ClientReply } from '../../../shared/src/messages.ts';
import type { ServerMessageName, ServerMessages } from '../../../shared/src/protocol.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { cdsCardVisibleTo, type CdsCardBasis, type DataAccess, type ParticipantAccess } from '../auth/policy.ts';
import { variantOf, type CaseEntry } from '../domain/case-view.ts';
import type { CdsGateway, CdsService } from '../cds/gateway.ts';
import { HOOK, type Card, type FeedbackItem, type PatientViewRequest } from '../cds/hooks.ts';
import { fillPrefetch, type SeenCase } from '../cds/prefetch.ts';
import { withholdText, type PatientIdentity } from '../domain/withhold-identity.ts';
import type { Logger } from '../logger.ts';
import { fail, ok, type Actor, type CommandResult } from './types.ts';

/**
 * Decision support in one live room. Each participant's cards come from that
 * participant's own calls: Consilium fills every service's prefetch from the
 * case as they may see it now (their copies, break-glass included), audits
 * the call with the resources sent, and sends the answer to their seats only.
 * Calls run when they open the case, when new data arrives and when their
 * access changes (cards computed under the old access are withdrawn first).
 * A slow or failing service holds nothing up: each service's cards are
 * published as they come, and a call gives up after 2 s.
 */
export interface CdsDeskDeps {
  gateway: Pick<CdsGateway, 'services' | 'call' | 'feedback' | 'hookUser'>;
  roomId: string;
  caseId: () => string | null;
  patientId: () => string | null;
  /** The case as a participant with this access sees it (null: no case). */
  seen: (access: DataAccess) => SeenCase | null;
  accessOf: (userId: string) => ParticipantAccess | null;
  /** Everyone admitted now (name for "shared by"). */
  members: () => { userId: string; name: string }[];
  /** Connected seats of a user. */
  seatsOf: (userId: string) => string[];
  send: <K extends ServerMessageName>(sessionId: string, type: K, message: ServerMessages[K]) => void;
  audit: (e: AuditEvent) => Promise<void>;
  logger: Logger;
}

interface StoredCard {
  view: CdsCardView;
  service: CdsService;
  /** The service's uuid for the card (feedback names it); null when it gave none. */
  uuid: string | null;
  /** What the card may rest on: who else may read it (cdsCardVisibleTo). */
  basis: CdsCardBasis;
  /** The resources behind it for the audit row (cited, else all sent). */
  resources: string[];
}

interface UserCards {
  /** Bumped when access or the case changes: answers to older calls are dropped. */
  generation: number;
  running: boolean;
  again: boolean;
  byService: Map<string, StoredCard[]>;
  /** Cards this participant answered (service key + uuid): not shown again in this room. */
  answered: Set<string>;
}

/** A card's text without the patient's identity (withholdText on every string a reader is shown). */
function withheldCard(card: Card, identity: PatientIdentity | null): Card {
  if (!identity) return card;
  const t = (s: string) => withholdText(s, identity);
  const opt = (s: string | undefined) => (s === undefined ? undefined : t(s));
  return {
    ...card,
    summary: t(card.summary),
    detail: opt(card.detail),
    source: { ...card.source, label: t(card.source.label) },
    suggestions: card.suggestions?.map((s) => ({ ...s, label: t(s.label) })),
    links: card.links?.map((l) => ({ ...l, label: t(l.label) })),
    overrideReasons: card.overrideReasons?.map((r) => ({ ...r, display: opt(r.display) })),
  };
}

const ref = (e: Pick<CaseEntry, 'resourceType' | 'resourceId'>) => `${e.resourceType}/${e.resourceId}`;
const hash = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

export class CdsDesk {
  private readonly users = new Map<string, UserCards>();
  private closed = false;

  constructor(private readonly deps: CdsDeskDeps) {}

  // ---- when to call ------------------------------------------------------------------

  /** A seat opened: a participant's first seat calls the services; another seat gets their cards. */
  seatOpened(userId: string, sessionId: string): void {
    const u = this.users.get(userId);
    if (u) this.deps.send(sessionId, 'cds.cards', { cards: this.cardsOf(u) });
    else void this.run(userId);
  }

  /** A dropped seat came back: its cards again (messages are not replayed). */
  seatBack(userId: string, sessionId: string): void {
    const u = this.users.get(userId);
    if (u) this.deps.send(sessionId, 'cds.cards', { cards: this.cardsOf(u) });
  }

  /** New data arrived (a live vital, a refresh): everyone's services are asked again. */
  dataChanged(): void {
    for (const userId of this.users.keys()) void this.run(userId);
  }

  /** The case changed or went: every card goes, and everyone is asked again. */
  caseChanged(): void {
    for (const userId of this.users.keys()) this.accessChanged(userId);
  }

  /** Their access changed: cards computed under the old access are withdrawn now, then computed again. */
  accessChanged(userId: string): void {
    const u = this.users.get(userId);
    if (!u) return;
    u.generation++;
    u.byService.clear();
    this.publish(userId, u);
    void this.run(userId);
  }

  /** Their last seat left. */
  forget(userId: string): void {
    const u = this.users.get(userId);
    if (u) u.generation++;
    this.users.delete(userId);
  }

  close(): void {
    this.closed = true;
    this.users.clear();
  }

  // ---- calls -------------------------------------------------------------------------

  private state(userId: string): UserCards {
    let u = this.users.get(userId);
    if (!u) this.users.set(userId, (u = { generation: 0, running: false, again: false, byService: new Map(), answered: new Set() }));
    return u;
  }

  /** One run per user at a time; a change during a run asks for one more (coalesced, not a retry). */
  private async run(userId: string): Promise<void> {
    const u = this.state(userId);
    if (u.running) {
      u.again = true;
      return;
    }
    u.running = true;
    try {
      do {
        u.again = false;
        await this.compute(userId, u);
      } while (u.again && !this.closed && this.users.get(userId) === u);
    } catch (err) {
      this.deps.logger.error({ err, roomId: this.deps.roomId }, 'decision support run failed');
    } finally {
      u.running = false;
    }
  }

  private async compute(userId: string, u: UserCards): Promise<void> {
    const generation = u.generation;
    const access = this.deps.accessOf(userId);
    const seen = access ? this.deps.seen(access.data) : null;
    if (!access || !seen) return;
    const services = await this.deps.gateway.services();
    // The hook's user: a stable keyed pseudonym of the participant (services need no names to answer).
    const hookUser = this.deps.gateway.hookUser(userId);
    const current = () => !this.closed && this.users.get(userId) === u && u.generation === generation;
    await Promise.all(
      services.map(async (service) => {
        const { prefetch, sent } = fillPrefetch(service.prefetch, seen, hookUser);
        const request: PatientViewRequest = { hook: HOOK, hookInstance: randomUUID(), context: { userId: hookUser, patientId: seen.patientId }, prefetch };
        try {
          // Audited before anything leaves: no audit row, no call.
          await this.deps.audit({
            actor: userId,
            action: 'cds.call',
            roomId: this.deps.roomId,
            caseId: this.deps.caseId(),
            patientId: this.deps.patientId(),
            details: { service: service.key, hook: HOOK, hookInstance: request.hookInstance, scope: access.scope, ...(access.grants.length ? { grants: access.grants } : {}), variant: variantOf(sent), resources: sent.map(ref) },
          });
        } catch {
          this.deps.logger.warn({ roomId: this.deps.roomId, service: service.key, code: 'AUDIT_WRITE_FAILED' }, 'CDS call not made: its audit row failed');
          return;
        }
        const result = await this.deps.gateway.call(service, request);
        if (!current()) return;
        const cards = result.ok ? result.cards.map((c) => this.store(userId, service, withheldCard(c, seen.identityWithheld), sent, access.data)).filter((c) => c.uuid === null || !u.answered.has(`${service.key}#${c.uuid}`)) : [];
        u.byService.set(service.key, cards);
        this.publish(userId, u);
      }),
    );
  }

  private store(userId: string, service: CdsService, card: Card, sent: CaseEntry[], author: DataAccess): StoredCard {
    const byRef = new Map(sent.map((e) => [`${e.resource.resourceType}/${e.resource.id}`, e]));
    const cited = (card.extension?.['consilium-cites'] ?? []).map((c) => byRef.get(`${c.resourceType}/${c.id}`)).filter((e): e is CaseEntry => e !== undefined);
    // The built-in rules rest on the prefetch alone (exactly what they cite); any other service had the
    // patient id in the context and may have used anything about them the author could see (CdsCardBasis).
    const behind = service.builtin && cited.length > 0 ? cited : sent;
    const uuid = card.uuid ?? null;
    const view: CdsCardView = {
      id: hash(`${userId}|${service.key}|${uuid ?? card.summary}`, 24),
      summary: card.summary,
      detail: card.detail ?? null,
      indicator: card.indicator,
      source: { label: card.source.label, url: safeUrl(card.source.url), topic: card.source.topic?.display ?? card.source.topic?.code ?? null },
      service: { id: service.id, title: service.title, builtin: service.builtin },
      suggestions: (card.suggestions ?? []).map((s) => ({ label: s.label, uuid: s.uuid ?? null, isRecommended: s.isRecommended ?? false })),
      links: (card.links ?? []).filter((l) => l.type === 'absolute' && safeUrl(l.url) !== null).map((l) => ({ label: l.label, url: l.url })),
      sources: cited.map((e) => e.key),
      overrideReasons: (card.overrideReasons ?? []).map((r) => ({ code: r.code, system: r.system ?? null, display: r.display ?? r.code })),
      computedAt: Date.now(),
    };
    const cites = service.builtin ? behind.map((e) => ({ resourceType: e.resourceType, variant: e.variant })) : null;
    return { view, service, uuid, basis: { author, cites }, resources: behind.map(ref) };
  }

  private cardsOf(u: UserCards): CdsCardView[] {
    return [...u.byService.values()].flat().map((c) => c.view);
  }

  private publish(userId: string, u: UserCards): void {
    const cards = this.cardsOf(u);
    for (const seat of this.deps.seatsOf(userId)) this.deps.send(seat, 'cds.cards', { cards });
  }

  private find(userId: string, cardId: string): StoredCard | null {
    const u = this.users.get(userId);
    for (const list of u?.byService.values() ?? []) for (const c of list) if (c.view.id === cardId) return c;
    return null;
  }

  // ---- acts --------------------------------------------------------------------------

  /**
   * Share a card with the room: its text reaches those whose access covers
   * everything it may rest on (cdsCardVisibleTo); the others learn only that
   * a card was shared. Audited before it is sent.
   */
  async share(actor: Actor, cardId: string): Promise<CommandResult<ClientReply<'cds.share'>>> {
    const card = this.find(actor.userId, cardId);
    if (!card) return fail('CARD_NOT_FOUND');
    const mine = this.deps.accessOf(actor.userId);
    if (!mine || !cdsCardVisibleTo(mine.data, card.basis)) return fail('SCOPE_DENIED', 'your access no longer covers this card');
    const shownTo: string[] = [];
    const withheldFrom: string[] = [];
    for (const m of this.deps.members()) {
      const access = this.deps.accessOf(m.userId);
      if (!access) continue;
      (cdsCardVisibleTo(access.data, card.basis) ? shownTo : withheldFrom).push(m.userId);
    }
    await this.deps.audit({
      actor: actor.userId,
      action: 'cds.share',
      roomId: this.deps.roomId,
      caseId: this.deps.caseId(),
      patientId: this.deps.patientId(),
      details: { service: card.service.key, card: card.uuid, resources: card.resources, shownTo, withheldFrom },
    });
    const by = { userId: actor.userId, name: actor.name };
    for (const userId of shownTo) for (const seat of this.deps.seatsOf(userId)) this.deps.send(seat, 'cds.shared', { cardId, by, card: card.view, indicator: card.view.indicator });
    for (const userId of withheldFrom) for (const seat of this.deps.seatsOf(userId)) this.deps.send(seat, 'cds.shared', { cardId, by, card: null, indicator: card.view.indicator });
    return ok({ cardId, shownTo: shownTo.length, withheldFrom: withheldFrom.length });
  }

  /** Accept or dismiss (override, with a reason): audited, sent to the service's feedback endpoint, and the card leaves their list. Nothing is executed. */
  async feedback(actor: Actor, p: ClientMessage<'cds.feedback'>): Promise<CommandResult<ClientReply<'cds.feedback'>>> {
    const card = this.find(actor.userId, p.cardId);
    if (!card) return fail('CARD_NOT_FOUND');
    const reason = p.reasonCode === undefined ? undefined : card.view.overrideReasons.find((r) => r.code === p.reasonCode);
    if (p.reasonCode !== undefined && !reason) return fail('MESSAGE_INVALID', 'that override reason is not one this card offers');
    if (p.outcome === 'overridden' && !reason && !p.comment?.trim()) return fail('MESSAGE_INVALID', 'give a reason to dismiss a card');
    if (p.suggestion !== undefined && !card.view.suggestions.some((s) => s.uuid === p.suggestion)) return fail('MESSAGE_INVALID', 'that suggestion is not on this card');
    const item: FeedbackItem = {
      card: card.uuid ?? '',
      outcome: p.outcome,
      outcomeTimestamp: new Date().toISOString(),
      ...(p.outcome === 'accepted' && p.suggestion ? { acceptedSuggestions: [{ id: p.suggestion }] } : {}),
      ...(p.outcome === 'overridden'
        ? { overrideReason: { ...(reason ? { reason: { code: reason.code, ...(reason.system ? { system: reason.system } : {}), display: reason.display } } : {}), ...(p.comment?.trim() ? { userComment: p.comment.trim() } : {}) } }
        : {}),
    };
    // The comment is free text (it may name the patient): the audit row records that there was one, not its words.
    await this.deps.audit({
      actor: actor.userId,
      action: 'cds.feedback',
      roomId: this.deps.roomId,
      caseId: this.deps.caseId(),
      patientId: this.deps.patientId(),
      details: { service: card.service.key, card: card.uuid, outcome: p.outcome, ...(reason ? { reason: reason.code } : {}), comment: Boolean(p.comment?.trim()), ...(p.suggestion ? { suggestion: p.suggestion } : {}) },
    });
    const u = this.users.get(actor.userId);
    if (u) {
      if (card.uuid) u.answered.add(`${card.service.key}#${card.uuid}`);
      const list = u.byService.get(card.service.key);
      if (list) u.byService.set(card.service.key, list.filter((c) => c !== card));
      this.publish(actor.userId, u);
    }
    const delivered = card.uuid ? await this.deps.gateway.feedback(card.service, [item]) : false;
    return ok({ cardId: p.cardId, outcome: p.outcome, delivered });
  }
}

/** Only web links are shown (no javascript:, data:, or SMART launches). */
function safeUrl(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}
