import type { Command } from './command.ts';

export const participantKick: Command<'participant.kick'> = {
  policyContext({ userId }, { roster, actor }) {
    return { targetSelf: userId === actor.userId, targetRole: roster.member(userId)?.access.role ?? null };
  },
  run({ userId, minutes }, { moderation, actor }) {
    return moderation.kick(actor, userId, minutes);
  },
};
