import type { Command } from './command.ts';

export const voiceMute: Command<'voice.mute'> = {
  policyContext({ userId }, { moderation, actor }) {
    return moderation.policyContext(actor, userId);
  },
  run({ userId }, { moderation, actor }) {
    return moderation.setMuted(actor, userId, true);
  },
};
