import type { CdsCardView, CdsSharedMessage } from '../../../shared/src/cds.ts';
import type { ClinicRoom } from './session.ts';
import { requestOn } from './session.ts';

/**
 * Decision support as a participant receives it: their own cards (computed
 * from what they may see, sent to them alone) and cards others shared with
 * the room (`card: null` when their access does not cover it). Accepting or
 * dismissing tells the service; nothing in a card is ever executed.
 */
export class DecisionSupport {
  /** My current cards (replaced whenever the server recomputes them). */
  cards: CdsCardView[] = [];
  /** Cards shared with the room, newest last (text withheld where my access does not cover it). */
  readonly shared: CdsSharedMessage[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly room: ClinicRoom) {
    room.onMessage('cds.cards', (m) => {
      this.cards = m.cards;
      this.changed();
    });
    room.onMessage('cds.shared', (m) => {
      this.shared.push(m);
      if (this.shared.length > 50) this.shared.shift();
      this.changed();
    });
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  share(cardId: string) {
    return requestOn(this.room, 'cds.share', { cardId });
  }

  accept(cardId: string, suggestion?: string) {
    return requestOn(this.room, 'cds.feedback', { cardId, outcome: 'accepted', ...(suggestion ? { suggestion } : {}) });
  }

  /** Dismiss with a reason: one the card offers (`reasonCode`), a comment, or both. */
  dismiss(cardId: string, reason: { reasonCode?: string; comment?: string }) {
    return requestOn(this.room, 'cds.feedback', { cardId, outcome: 'overridden', ...reason });
  }

  private changed(): void {
    this.listeners.forEach((l) => l());
  }
}
