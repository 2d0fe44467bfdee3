import { CloseCodes } from '../../../shared/src/errors.ts';
import type { ClinicState } from '../../../shared/src/state.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import type { VoiceControl } from '../media/livekit.ts';
import type { Roster } from './roster.ts';
import type { ClientReply } from '../../../shared/src/messages.ts';
import { fail, ok, type CommandResult } from './types.ts';

export interface ModerationDeps {
  state: ClinicState;
  roomId: string;
  roster: Roster;
  voice: Pick<VoiceControl, 'setMicMuted'> | null;
  audit: (e: AuditEvent) => Promise<void>;
  /** Persist the kick (it outlives this instance) and revoke every ticket issued so far. */
  recordKick: (userId: string, by: string, until: Date | null) => Promise<void>;
  /** End every seat of this user, connected or dropped, and their media session; resolves whether LiveKit took it. */
  endUser: (userId: string, code: number) => Promise<boolean>;
  now: () => number;
}

/**
 * Host moderation, acting on the real media session: mute goes to LiveKit's
 * mutePublishedTrack; kick ends every seat of the user (connected or
 * dropped), removes them from LiveKit, revokes their tickets and keeps them
 * out until re-admitted (or for the cool-down the host chose). Each act is
 * audited. Who may do it is the policy's business, decided before this runs.
 */
export class Moderation {
  constructor(private readonly deps: ModerationDeps) {}

  async setMuted(by: { userId: string }, userId: string, muted: boolean): Promise<CommandResult<ClientReply<'voice.mute'>>> {
    const { voice, state } = this.deps;
    if (!voice) return fail('VOICE_OFF');
    const sessions = [...state.participants.values()].filter((p) => p.userId === userId);
    if (sessions.length === 0) return fail('PARTICIPANT_NOT_FOUND');
    await this.deps.audit({ actor: by.userId, action: muted ? 'voice.mute' : 'voice.unmute', roomId: this.deps.roomId, subject: userId });
    const applied = await voice.setMicMuted(this.deps.roomId, userId, muted);
    if (applied) for (const p of sessions) p.muted = muted;
    return ok({ userId, muted, applied });
  }

  async kick(by: { userId: string }, userId: string, minutes?: number): Promise<CommandResult<ClientReply<'participant.kick'>>> {
    if (userId === by.userId) return fail('FORBIDDEN', 'nobody kicks themselves');
    // Present, or invited and away: a kick keeps them out either way.
    if (this.deps.roster.seatsOf(userId).length === 0 && !this.deps.roster.invitation(userId)) return fail('PARTICIPANT_NOT_FOUND');
    const until = minutes === undefined ? null : new Date(this.deps.now() + minutes * 60_000);
    await this.deps.audit({ actor: by.userId, action: 'participant.kick', roomId: this.deps.roomId, subject: userId, details: { until: until?.toISOString() ?? 'until re-admitted' } });
    await this.deps.recordKick(userId, by.userId, until);
    this.deps.roster.kick(userId, until?.getTime() ?? Infinity);
    const applied = await this.deps.endUser(userId, CloseCodes.KICKED);
    return ok({ userId, applied, until: until?.toISOString() ?? null });
  }
}
