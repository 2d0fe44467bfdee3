import { GuidanceServerMessages } from '../../../../shared/src/guidance.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** Highlight the annotation in focus again. */
export const guidanceRepeat: Command<'guidance.repeat'> = {
  run(_payload, { state, relay }) {
    const focus = state.info.focus;
    if (!focus || !state.objects.has(focus)) return fail('OBJECT_NOT_FOUND', 'nothing is in focus');
    relay(GuidanceServerMessages.highlight, { objectId: focus });
    return ok({ focus });
  },
};
