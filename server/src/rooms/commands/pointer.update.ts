import { GuidanceServerMessages } from '../../../../shared/src/guidance.ts';
import { quantizePose } from '../../../../shared/src/quantize.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/**
 * Laser pointer. In a conference it is presence, synced with the state. In
 * surgical guidance it is an instruction to the surgeon: relayed to every
 * seat on arrival (no patch-cycle delay), in the patient frame, stamped with
 * the server's time (the client's `sentAt` is ignored) and flagged stale
 * while any guiding link is in warning (the link monitor decides) — and
 * never persisted.
 */
export const pointerUpdate: Command<'pointer.update'> = {
  run({ target }, { state, actor, relay, links }) {
    const me = state.participants.get(actor.sessionId);
    if (!me) return fail('NOT_FOUND', 'participant not in room');
    me.pointing = target !== null;
    if (state.info.kind === 'surgical-guidance') {
      // Pointing is guiding: from now (and for a while) this seat's link decides whether pointers are live.
      relay(GuidanceServerMessages.pointer, links.pointer(actor.sessionId, target), actor.sessionId);
    } else if (target) {
      Object.assign(me.pointer, quantizePose({ p: target, q: [0, 0, 0, 1] }));
    }
    return ok();
  },
};
