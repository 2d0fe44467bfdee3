import type { Command } from './command.ts';

export const accessApprove: Command<'access.approve'> = {
  run({ requestId }, { breakGlass, actor }) {
    return breakGlass.approve(actor, requestId);
  },
};
