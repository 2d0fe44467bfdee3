import { type Command } from './command.ts';

export const recordingStop: Command<'recording.stop'> = {
  run(_payload, { teaching, actor }) {
    return teaching.stop(actor);
  },
};
