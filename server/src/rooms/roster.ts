import type { ParticipantDto } from '../../../shared/src/http.ts';
import { accessInput, participantAccess, type Grant, type ParticipantAccess } from '../auth/policy.ts';

/**
 * The one record of who is in a live room and what each of them may do and
 * see. Every decision — tickets aside, which derive the same way over HTTP —
 * reads a member's `access`, which only `participantAccess` (policy.ts)
 * produces. Any change to its inputs (the room record, kicks, grants, time)
 * goes through `reevaluate()`, which visits every member, whatever the state
 * of their seats' sockets.
 */
export type SeatStatus = 'connected' | 'dropped' | 'ending';

export interface Seat {
  sessionId: string;
  userId: string;
  status: SeatStatus;
}

export interface Member {
  userId: string;
  name: string;
  /** Entered as an administrator without an invitation. */
  admin: boolean;
  access: ParticipantAccess;
  seats: Set<string>;
}

/** What the roster needs from the room record. */
export interface AccessRecord {
  participants: readonly ParticipantDto[];
  scopeCeiling: readonly string[] | null;
}

export interface RosterDeps {
  grantsOf: (userId: string) => Grant[];
  now: () => number;
  maxSeatsPerUser: number;
}

export type SeatRefusal = 'NOT_INVITED' | 'KICKED' | 'SEAT_LIMIT';

export class Roster {
  private readonly members = new Map<string, Member>();
  private readonly seats = new Map<string, Seat>();
  /** userId → kicked until (ms since epoch), or Infinity until re-admitted. */
  private readonly kicks = new Map<string, number>();

  constructor(
    private record: AccessRecord,
    private readonly deps: RosterDeps,
  ) {}

  // ---- inputs -------------------------------------------------------------------

  setRecord(record: AccessRecord): void {
    this.record = record;
  }

  kick(userId: string, until: number): void {
    this.kicks.set(userId, until);
  }

  readmit(userId: string): void {
    this.kicks.delete(userId);
  }

  isKicked(userId: string): boolean {
    const until = this.kicks.get(userId);
    if (until === undefined) return false;
    if (until > this.deps.now()) return true;
    this.kicks.delete(userId);
    return false;
  }

  invitation(userId: string): ParticipantDto | null {
    return this.record.participants.find((p) => p.userId === userId) ?? null;
  }

  /** The access this user would have now (admitted or not). */
  derive(userId: string, admin: boolean): ParticipantAccess | null {
    return participantAccess(accessInput(this.record, { userId, admin }, { kicked: this.isKicked(userId), grants: this.deps.grantsOf(userId), at: this.deps.now() }));
  }

  // ---- seats ----------------------------------------------------------------------

  /** Open a seat for a user; refused when they are not admitted or hold too many seats. */
  open(sessionId: string, user: { userId: string; name: string; admin: boolean }): { ok: true; member: Member } | { ok: false; code: SeatRefusal } {
    const access = this.derive(user.userId, user.admin);
    if (!access) return { ok: false, code: this.isKicked(user.userId) ? 'KICKED' : 'NOT_INVITED' };
    let member = this.members.get(user.userId);
    const live = member ? [...member.seats].filter((s) => this.seats.get(s)?.status !== 'ending').length : 0;
    if (live >= this.deps.maxSeatsPerUser) return { ok: false, code: 'SEAT_LIMIT' };
    if (!member) {
      member = { userId: user.userId, name: user.name, admin: user.admin, access, seats: new Set() };
      this.members.set(user.userId, member);
    }
    member.seats.add(sessionId);
    this.seats.set(sessionId, { sessionId, userId: user.userId, status: 'connected' });
    return { ok: true, member };
  }

  seat(sessionId: string): Seat | undefined {
    return this.seats.get(sessionId);
  }

  member(userId: string): Member | undefined {
    return this.members.get(userId);
  }

  /** The member behind a seat that may still act (connected, not being ended). */
  activeMember(sessionId: string): Member | undefined {
    const seat = this.seats.get(sessionId);
    return seat?.status === 'connected' ? this.members.get(seat.userId) : undefined;
  }

  seatsOf(userId: string): Seat[] {
    return [...(this.members.get(userId)?.seats ?? [])].flatMap((s) => this.seats.get(s) ?? []);
  }

  allMembers(): IterableIterator<Member> {
    return this.members.values();
  }

  setStatus(sessionId: string, status: SeatStatus): void {
    const seat = this.seats.get(sessionId);
    if (seat && seat.status !== 'ending') seat.status = status;
  }

  /** The seat is gone for good. Returns whether it was the user's last one. */
  close(sessionId: string): { seat: Seat; lastOfUser: boolean } | undefined {
    const seat = this.seats.get(sessionId);
    if (!seat) return undefined;
    this.seats.delete(sessionId);
    const member = this.members.get(seat.userId);
    member?.seats.delete(sessionId);
    const lastOfUser = !member || member.seats.size === 0;
    if (lastOfUser) this.members.delete(seat.userId);
    return { seat, lastOfUser };
  }

  // ---- the one re-evaluation --------------------------------------------------------

  /**
   * Re-derive every member's access. Returns the seats whose user is no longer
   * admitted (to be ended, connected or dropped) and the members whose access
   * changed (role, scopes or grants), with their previous access.
   */
  reevaluate(): { ended: Seat[]; changed: { member: Member; before: ParticipantAccess }[] } {
    const ended: Seat[] = [];
    const changed: { member: Member; before: ParticipantAccess }[] = [];
    for (const member of this.members.values()) {
      const access = this.derive(member.userId, member.admin);
      if (!access) {
        for (const seat of this.seatsOf(member.userId)) if (seat.status !== 'ending') ended.push(seat);
        continue;
      }
      if (!sameAccess(access, member.access)) {
        changed.push({ member, before: member.access });
        member.access = access;
      }
    }
    return { ended, changed };
  }

  markEnding(sessionId: string): void {
    const seat = this.seats.get(sessionId);
    if (seat) seat.status = 'ending';
  }
}

function sameAccess(a: ParticipantAccess, b: ParticipantAccess): boolean {
  return a.role === b.role && a.scope === b.scope && a.data.identified === b.data.identified && a.grants.join(' ') === b.grants.join(' ');
}
