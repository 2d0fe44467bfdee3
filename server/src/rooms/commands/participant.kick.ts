import type { Command } from './command.ts';

export const participantKick: Command<'participant.kick'> = {
  run({ userId }, { moderation, actor }) {
    return moderation.kick(actor, userId);
  },
};
