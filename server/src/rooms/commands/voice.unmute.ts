import type { Command } from './command.ts';

export const voiceUnmute: Command<'voice.unmute'> = {
  policyContext({ userId }, { moderation, actor }) {
    return moderation.policyContext(actor, userId);
  },
  run({ userId }, { moderation, actor }) {
    return moderation.setMuted(actor, userId, false);
  },
};
