import { GuidanceServerMessages, type RelayedPointer } from '../../../../shared/src/guidance.ts';
import { quantizePose } from '../../../../shared/src/quantize.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/**
 * Laser pointer. In a conference it is presence, synced with the state. In
 * surgical guidance it is an instruction to the surgeon: relayed to every
 * seat on arrival (no patch-cycle delay), in the patient frame, stamped with
 * the server's time and flagged stale when the author's link is bad — and
 * never persisted.
 */
export const pointerUpdate: Command<'pointer.update'> = {
  run({ target, sentAt }, { state, actor, relay, links, now }) {
    const me = state.participants.get(actor.sessionId);
    if (!me) return fail('NOT_FOUND', 'participant not in room');
    me.pointing = target !== null;
    if (state.info.kind === 'surgical-guidance') {
      // Pointing is guiding: from now (and for a while) this seat's link decides whether pointers are live.
      links.guiding(actor.sessionId);
      const message: RelayedPointer = { sessionId: actor.sessionId, target, sentAt: sentAt ?? null, serverAt: now(), stale: !links.isOk(actor.sessionId) };
      relay(GuidanceServerMessages.pointer, message, actor.sessionId);
    } else if (target) {
      Object.assign(me.pointer, quantizePose({ p: target, q: [0, 0, 0, 1] }));
    }
    return ok();
  },
};
