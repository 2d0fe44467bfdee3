import type { Command } from './command.ts';

export const accessBreakGlass: Command<'access.breakGlass'> = {
  run({ resourceTypes, reason }, { breakGlass, actor }) {
    return breakGlass.request(actor, resourceTypes, reason);
  },
};
