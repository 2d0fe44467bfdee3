import { fail } from '../types.ts';
import type { Command } from './command.ts';

/** Share one of one's decision-support cards with the room (its text only where access covers it: CdsDesk.share). */
export const cdsShare: Command<'cds.share'> = {
  run({ cardId }, { cds, actor }) {
    return cds ? cds.share(actor, cardId) : fail('CARD_NOT_FOUND');
  },
};
