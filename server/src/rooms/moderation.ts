import { CloseCodes } from '../../../shared/src/errors.ts';
import type { ClinicState } from '../../../shared/src/state.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import type { RoomActionContext } from '../auth/policy.ts';
import type { VoiceControl } from '../media/livekit.ts';
import type { Roster } from './roster.ts';
import type { ClientReply } from '../../../shared/src/messages.ts';
import { fail, ok, type CommandResult } from './types.ts';

/** Where a kick is kept: PostgreSQL (RoomsRepo.kick), which also revokes the user's tickets so far. */
export interface KickStore {
  kick(roomId: string, userId: string, by: string, until: Date | null): Promise<void>;
}

/** The end of a kick of `minutes` from now; null: until re-admitted. */
export const kickUntil = (now: number, minutes: number | undefined): Date | null => (minutes === undefined ? null : new Date(now + minutes * 60_000));

/**
 * The stored half of every kick — in the room, from the console, live room or
 * not: written to PostgreSQL first (no new ticket, old ones revoked), then
 * audited. A live room is told only afterwards, so a room that cannot be
 * reached does not lose the kick. Who may kick whom was decided before
 * (policy.ts, MODERATION_RULES).
 */
export async function storeKick(
  deps: { store: KickStore; audit: (e: AuditEvent) => Promise<void> },
  kick: { roomId: string; by: string; userId: string; until: Date | null; via: 'room' | 'console' },
): Promise<void> {
  await deps.store.kick(kick.roomId, kick.userId, kick.by, kick.until);
  await deps.audit({ actor: kick.by, action: 'participant.kick', roomId: kick.roomId, subject: kick.userId, details: { until: kick.until?.toISOString() ?? 'until re-admitted', via: kick.via } });
}

export interface ModerationDeps {
  state: ClinicState;
  roomId: string;
  roster: Roster;
  voice: Pick<VoiceControl, 'setMicMuted'> | null;
  audit: (e: AuditEvent) => Promise<void>;
  store: KickStore;
  /** End every seat of this user, connected or dropped, and their media session; resolves whether LiveKit took it. */
  endUser: (userId: string, code: number) => Promise<boolean>;
  now: () => number;
  /** A kick was stored: what follows this room's membership (recordings granted to it) is told. */
  kicked?: (by: string) => Promise<void>;
}

/**
 * Moderation in a live room, acting on the real media session: mute goes to
 * LiveKit's mutePublishedTrack; kick is stored (storeKick), then ends every
 * seat of the user (connected or dropped), removes them from LiveKit and keeps
 * them out until re-admitted (or for the cool-down chosen). Targets are the
 * room's invited participants, present or away; their role comes from the
 * room record, never from who happens to be seated. Who may act is the
 * policy's business (MODERATION_RULES), decided before this runs — by the
 * dispatcher in the room, by participants.routes.ts for the console.
 */
export class Moderation {
  constructor(private readonly deps: ModerationDeps) {}

  /** What the policy needs about a target: themselves? their invited role (null: not invited)? */
  policyContext(by: { userId: string }, userId: string): RoomActionContext {
    return { targetSelf: userId === by.userId, targetRole: this.deps.roster.invitation(userId)?.role ?? null };
  }

  async setMuted(by: { userId: string }, userId: string, muted: boolean): Promise<CommandResult<ClientReply<'voice.mute'>>> {
    const { voice, state } = this.deps;
    if (!voice) return fail('VOICE_OFF');
    const sessions = [...state.participants.values()].filter((p) => p.userId === userId);
    if (sessions.length === 0 || !this.deps.roster.invitation(userId)) return fail('PARTICIPANT_NOT_FOUND');
    await this.deps.audit({ actor: by.userId, action: muted ? 'voice.mute' : 'voice.unmute', roomId: this.deps.roomId, subject: userId });
    const applied = await voice.setMicMuted(this.deps.roomId, userId, muted);
    if (applied) for (const p of sessions) p.muted = muted;
    return ok({ userId, muted, applied });
  }

  async kick(by: { userId: string }, userId: string, minutes?: number): Promise<CommandResult<ClientReply<'participant.kick'>>> {
    // Present, or invited and away: a kick keeps them out either way.
    if (!this.deps.roster.invitation(userId)) return fail('PARTICIPANT_NOT_FOUND');
    const until = kickUntil(this.deps.now(), minutes);
    await storeKick({ store: this.deps.store, audit: this.deps.audit }, { roomId: this.deps.roomId, by: by.userId, userId, until, via: 'room' });
    const applied = await this.applyKick(userId, until?.getTime() ?? null);
    await this.deps.kicked?.(by.userId);
    return ok({ userId, applied, until: until?.toISOString() ?? null });
  }

  /** The live half of a stored kick (this room's, or the console's): their seats end and they stay out. Resolves whether LiveKit took it. */
  applyKick(userId: string, until: number | null): Promise<boolean> {
    this.deps.roster.kick(userId, until ?? Infinity);
    return this.deps.endUser(userId, CloseCodes.KICKED);
  }
}
