import type { Command } from './command.ts';

export const voiceUnmute: Command<'voice.unmute'> = {
  run({ userId }, { moderation, actor }) {
    return moderation.setMuted(actor, userId, false);
  },
};
