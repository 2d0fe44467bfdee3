import type { Command } from './command.ts';

export const participantKick: Command<'participant.kick'> = {
  policyContext({ userId }, { moderation, actor }) {
    return moderation.policyContext(actor, userId);
  },
  run({ userId, minutes }, { moderation, actor }) {
    return moderation.kick(actor, userId, minutes);
  },
};
