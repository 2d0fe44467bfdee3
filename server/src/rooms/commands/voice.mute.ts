import type { Command } from './command.ts';

export const voiceMute: Command<'voice.mute'> = {
  run({ userId }, { moderation, actor }) {
    return moderation.setMuted(actor, userId, true);
  },
};
