import { GuidanceServerMessages } from '../../../../shared/src/guidance.ts';
import { nextFocus } from '../../domain/annotations.ts';
import { type Command } from './command.ts';
import { ok } from '../types.ts';

/**
 * Move the focus to the next annotation the surgeon has not yet acknowledged
 * — among those the surgeon may see — and highlight it for those who may see it.
 */
export const guidanceNext: Command<'guidance.next'> = {
  run(_payload, { state, disclosure, actor, tellViewersOf }) {
    const mine = [...state.objects.values()].filter((o) => disclosure.visibleTo(actor.userId, o));
    const current = mine.find((o) => o.focused)?.id ?? '';
    const next = nextFocus(mine, current);
    state.objects.forEach((o) => void (o.focused && o.id !== next && (o.focused = false)));
    const obj = next ? state.objects.get(next) : undefined;
    if (obj) {
      obj.focused = true;
      tellViewersOf(obj, GuidanceServerMessages.highlight, { objectId: obj.id });
    }
    return ok({ focus: next });
  },
};
