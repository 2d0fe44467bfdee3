import { type Command } from './command.ts';

/** The replay room's host plays, pauses, seeks or sets the speed; everyone's view follows the state. */
export const replayControl: Command<'replay.control'> = {
  run(payload, { teaching }) {
    return teaching.control(payload);
  },
};
