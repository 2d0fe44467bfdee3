import { describe, expect, it } from 'vitest';
import type { CdsCardView, CdsSharedMessage } from '../../shared/src/cds.ts';
import { CdsController, type CdsChannel } from '../../client/src/app/cds-controller.ts';

const card = (id: string, indicator: CdsCardView['indicator'], summary = `card ${id}`): CdsCardView => ({
  id, summary, indicator, detail: null, source: { label: 'rules', url: null, topic: null }, service: { id: 's', title: 'S', builtin: true },
  suggestions: [{ label: 'Review', uuid: 'u1', isRecommended: false }], links: [], sources: [], overrideReasons: [{ code: 'nr', system: null, display: 'Not relevant' }], computedAt: 0,
});

/** The SDK channel as the server drives it: cards and shares arrive, requests are answered. */
function channel() {
  const listeners = new Set<() => void>();
  const sent: unknown[] = [];
  const ch = {
    cards: [] as CdsCardView[],
    shared: [] as CdsSharedMessage[],
    onChange: (l: () => void) => (listeners.add(l), () => listeners.delete(l)),
    share: async (cardId: string) => (sent.push(['share', cardId]), { ok: true as const, cardId, shownTo: 1, withheldFrom: 2 }),
    accept: async (cardId: string, suggestion?: string) => (sent.push(['accept', cardId, suggestion]), { ok: true as const, cardId, outcome: 'accepted' as const, delivered: true }),
    dismiss: async (cardId: string, reason: { reasonCode?: string; comment?: string }) => (sent.push(['dismiss', cardId, reason]), { ok: true as const, cardId, outcome: 'overridden' as const, delivered: true }),
  };
  return { ch: ch as unknown as CdsChannel & typeof ch, sent, emit: () => listeners.forEach((l) => l()) };
}

describe('CdsController', () => {
  it('orders critical first, announces each critical card once (assertively) and every share, naming a withheld one as such', () => {
    const { ch, emit } = channel();
    const said: [string, boolean | undefined][] = [];
    const ctl = new CdsController(ch, { announce: (t, u) => said.push([t, u]), changed: () => {} }, true);
    ctl.start();
    ch.cards = [card('a', 'info'), card('b', 'critical', 'K 7.1')];
    emit();
    emit();
    expect(ctl.cards.map((c) => c.id)).toEqual(['b', 'a']);
    expect(said).toEqual([['Critical decision-support card: K 7.1', true]]);
    ch.shared.push({ cardId: 'x', by: { userId: 'd', name: 'Dr. D' }, card: null, indicator: 'warning' });
    emit();
    expect(said.at(-1)).toEqual(['Dr. D shared a decision-support card that is outside your access.', false]);
  });

  it('dismissing needs a reason before anything is sent; accept names the suggestion; share is remembered', async () => {
    const { ch, sent } = channel();
    const ctl = new CdsController(ch, { announce: () => {}, changed: () => {} }, true);
    await ctl.dismiss('a', '', '  ');
    expect(sent).toEqual([]);
    expect(ctl.errors.get('a')).toMatch(/reason/);
    await ctl.dismiss('a', 'nr', '');
    expect(ctl.errors.has('a')).toBe(false);
    await ctl.accept(card('b', 'warning'));
    await ctl.share('b');
    expect(sent).toEqual([['dismiss', 'a', { reasonCode: 'nr' }], ['accept', 'b', 'u1'], ['share', 'b']]);
    expect(ctl.sharedByMe.has('b')).toBe(true);
  });
});
