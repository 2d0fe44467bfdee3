import { type Command } from './command.ts';

/** The host starts recording (where an administrator allowed it): everyone sees `info.recording`. */
export const recordingStart: Command<'recording.start'> = {
  run(_payload, { teaching, actor }) {
    return teaching.start(actor);
  },
};
