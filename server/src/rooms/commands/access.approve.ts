import type { Command } from './command.ts';

export const accessApprove: Command<'access.approve'> = {
  policyContext({ requestId }, { breakGlass, actor }) {
    return { targetSelf: breakGlass.requesterOf(requestId) === actor.userId };
  },
  run({ requestId }, { breakGlass, actor }) {
    return breakGlass.approve(actor, requestId);
  },
};
