import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

export const presenterSet: Command<'presenter.set'> = {
  policyContext({ sessionId }, { state, actor }) {
    const current = state.info.presenter;
    return {
      // Taking the floor oneself, or handing it back when one holds it.
      presenterSelf: sessionId === actor.sessionId || (sessionId === null && current === actor.sessionId),
      presenterTakenByOther: current !== '' && current !== actor.sessionId,
    };
  },
  run({ sessionId }, { state }) {
    if (sessionId !== null && !state.participants.has(sessionId)) return fail('PARTICIPANT_NOT_FOUND');
    state.info.presenter = sessionId ?? '';
    return ok({ presenter: state.info.presenter });
  },
};
