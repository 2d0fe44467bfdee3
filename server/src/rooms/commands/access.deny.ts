import type { Command } from './command.ts';

export const accessDeny: Command<'access.deny'> = {
  run({ requestId, reason }, { breakGlass, actor }) {
    return breakGlass.deny(actor, requestId, reason);
  },
};
