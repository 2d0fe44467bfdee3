import { type Command } from './command.ts';
import { ok } from '../types.ts';

/** The answer to the server's link probe: the round trip is measured on the server's own clock. */
export const linkPong: Command<'link.pong'> = {
  run({ n }, { links, actor }) {
    links.pong(actor.sessionId, n);
    return ok();
  },
};
