import { GuidanceServerMessages } from '../../../../shared/src/guidance.ts';
import { nextFocus } from '../../domain/annotations.ts';
import { type Command } from './command.ts';
import { ok } from '../types.ts';

/** Move the focus to the next annotation the surgeon has not yet acknowledged, and highlight it. */
export const guidanceNext: Command<'guidance.next'> = {
  run(_payload, { state, relay }) {
    state.info.focus = nextFocus([...state.objects.values()], state.info.focus);
    if (state.info.focus) relay(GuidanceServerMessages.highlight, { objectId: state.info.focus });
    return ok({ focus: state.info.focus });
  },
};
