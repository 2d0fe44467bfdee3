import { CloseCodes } from '../../../shared/src/errors.ts';
import type { ClinicState } from '../../../shared/src/state.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import type { VoiceControl } from '../media/livekit.ts';
import { fail, ok, type Actor, type CommandResult } from './commands/command.ts';

export interface ModerationDeps {
  state: ClinicState;
  roomId: string;
  voice: VoiceControl | null;
  audit: (e: AuditEvent) => Promise<void>;
  revokeTickets: (userId: string) => Promise<void>;
  /** Close every session of this user with the given code. */
  disconnect: (userId: string, code: number) => void;
}

/**
 * Host moderation, acting on the real media session: mute goes to LiveKit's
 * mutePublishedTrack; kick removes from LiveKit and from the room and revokes
 * the user's tickets. Each act is audited. If LiveKit is unreachable the act
 * is queued and retried (VoiceControl) and the reply says so.
 */
export class Moderation {
  constructor(private readonly deps: ModerationDeps) {}

  async setMuted(host: Actor, userId: string, muted: boolean): Promise<CommandResult> {
    const { voice, state } = this.deps;
    if (!voice) return fail('VOICE_OFF');
    const sessions = [...state.participants.values()].filter((p) => p.userId === userId);
    if (sessions.length === 0) return fail('PARTICIPANT_NOT_FOUND');
    await this.deps.audit({ actor: host.userId, action: muted ? 'voice.mute' : 'voice.unmute', roomId: this.deps.roomId, subject: userId });
    const applied = await voice.setMicMuted(this.deps.roomId, userId, muted);
    if (applied) for (const p of sessions) p.muted = muted;
    return ok({ userId, muted, applied });
  }

  async kick(host: Actor, userId: string): Promise<CommandResult> {
    if (userId === host.userId) return fail('FORBIDDEN', 'a host cannot kick themselves');
    const inRoom = [...this.deps.state.participants.values()].some((p) => p.userId === userId);
    if (!inRoom) return fail('PARTICIPANT_NOT_FOUND');
    await this.deps.audit({ actor: host.userId, action: 'participant.kick', roomId: this.deps.roomId, subject: userId });
    await this.deps.revokeTickets(userId);
    this.deps.disconnect(userId, CloseCodes.KICKED);
    const applied = this.deps.voice ? await this.deps.voice.remove(this.deps.roomId, userId) : true;
    return ok({ userId, applied });
  }
}
