import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** Raise or lower one's hand (grand rounds); the host may lower someone else's. */
export const handRaise: Command<'hand.raise'> = {
  policyContext({ sessionId }, { actor }) {
    return { targetSelf: sessionId === undefined || sessionId === actor.sessionId };
  },
  run({ raised, sessionId }, { state, actor }) {
    const target = sessionId ?? actor.sessionId;
    const p = state.participants.get(target);
    if (!p) return fail('PARTICIPANT_NOT_FOUND');
    // Someone else's hand is only ever lowered, never raised for them.
    if (target !== actor.sessionId && raised) return fail('FORBIDDEN', 'only they can raise their hand');
    p.handRaised = raised;
    return ok({ sessionId: target, raised });
  },
};
