import type { CdsCardView, CdsSharedMessage } from '../../../shared/src/cds.ts';
import type { DecisionSupport } from '../sdk/cds.ts';
import { plainCode } from './plain-errors.ts';

/** What the decision-support panel uses of the SDK: a fake drives it in unit tests. */
export type CdsChannel = Pick<DecisionSupport, 'cards' | 'shared' | 'onChange' | 'share' | 'accept' | 'dismiss'>;

export interface CdsOutputs {
  announce(text: string, urgent?: boolean): void;
  changed(): void;
}

/**
 * Decision-support cards for the case panel, socket-free: my cards (critical
 * ones announced once, assertively), cards shared with the room (their text
 * only where my access covers it), and the acts — share, accept, dismiss with
 * a reason. Suggestions are shown; nothing is executed.
 */
export class CdsController {
  private readonly announced = new Set<string>();
  private seenShared = 0;
  private stop: (() => void) | null = null;
  /** The last refusal, in plain words, per card. */
  readonly errors = new Map<string, string>();
  /** Cards I shared in this session. */
  readonly sharedByMe = new Set<string>();

  constructor(
    private readonly cds: CdsChannel,
    private readonly out: CdsOutputs,
    /** The clinical team shares and answers cards; observers read theirs (the server decides). */
    readonly canAct: boolean,
  ) {}

  start(): void {
    this.stop = this.cds.onChange(() => this.update());
    this.update();
  }

  dispose(): void {
    this.stop?.();
  }

  get cards(): CdsCardView[] {
    const rank = { critical: 0, warning: 1, info: 2 } as const;
    return [...this.cds.cards].sort((a, b) => rank[a.indicator] - rank[b.indicator]);
  }

  get shared(): CdsSharedMessage[] {
    return [...this.cds.shared].reverse();
  }

  async share(cardId: string): Promise<void> {
    const reply = await this.cds.share(cardId);
    if (reply.ok) this.sharedByMe.add(cardId);
    this.settle(cardId, reply.ok ? null : plainCode(reply.error.code, reply.error.message));
    if (reply.ok) {
      this.out.announce(reply.withheldFrom > 0 ? `Card shared; ${reply.withheldFrom} participant(s) see only that a card was shared (outside their access).` : 'Card shared with the room.');
    }
  }

  async accept(card: CdsCardView): Promise<void> {
    const suggestion = card.suggestions.find((s) => s.uuid)?.uuid ?? undefined;
    const reply = await this.cds.accept(card.id, suggestion);
    this.settle(card.id, reply.ok ? null : plainCode(reply.error.code, reply.error.message));
  }

  async dismiss(cardId: string, reasonCode: string, comment: string): Promise<void> {
    const c = comment.trim();
    if (!reasonCode && !c) return this.settle(cardId, 'Choose a reason or write one to dismiss this card.');
    const reply = await this.cds.dismiss(cardId, { ...(reasonCode ? { reasonCode } : {}), ...(c ? { comment: c } : {}) });
    this.settle(cardId, reply.ok ? null : plainCode(reply.error.code, reply.error.message));
  }

  private settle(cardId: string, error: string | null): void {
    if (error) this.errors.set(cardId, error);
    else this.errors.delete(cardId);
    this.out.changed();
  }

  private update(): void {
    for (const c of this.cds.cards) {
      if (c.indicator !== 'critical' || this.announced.has(c.id)) continue;
      this.announced.add(c.id);
      this.out.announce(`Critical decision-support card: ${c.summary}`, true);
    }
    for (const s of this.cds.shared.slice(this.seenShared)) {
      this.out.announce(s.card ? `${s.by.name} shared a card: ${s.card.summary}` : `${s.by.name} shared a decision-support card that is outside your access.`, s.indicator === 'critical');
    }
    this.seenShared = this.cds.shared.length;
    this.out.changed();
  }
}
