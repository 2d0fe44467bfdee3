import { quantizePose } from '../../../../shared/src/quantize.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

export const pointerUpdate: Command<'pointer.update'> = {
  run({ target }, { state, actor }) {
    const me = state.participants.get(actor.sessionId);
    if (!me) return fail('NOT_FOUND', 'participant not in room');
    me.pointing = target !== null;
    if (target) Object.assign(me.pointer, quantizePose({ p: target, q: [0, 0, 0, 1] }));
    return ok();
  },
};
