import { fail } from '../types.ts';
import type { Command } from './command.ts';

/** Accept or dismiss (with a reason) one of one's cards: audited and sent to the service's feedback endpoint; nothing is executed. */
export const cdsFeedback: Command<'cds.feedback'> = {
  run(payload, { cds, actor }) {
    return cds ? cds.feedback(actor, payload) : fail('CARD_NOT_FOUND');
  },
};
