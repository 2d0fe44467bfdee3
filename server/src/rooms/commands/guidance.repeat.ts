import { GuidanceServerMessages } from '../../../../shared/src/guidance.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** Highlight the annotation in focus again (for those who may see it). */
export const guidanceRepeat: Command<'guidance.repeat'> = {
  run(_payload, { state, disclosure, actor, tellViewersOf }) {
    const obj = [...state.objects.values()].find((o) => o.focused && disclosure.visibleTo(actor.userId, o));
    if (!obj) return fail('OBJECT_NOT_FOUND', 'nothing is in focus');
    tellViewersOf(obj, GuidanceServerMessages.highlight, { objectId: obj.id });
    return ok({ focus: obj.id });
  },
};
