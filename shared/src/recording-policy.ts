import type { RoomKind, RoomRole } from './roles.ts';
import { allow, deny, type Decision } from './room-policy.ts';

/**
 * Who may do what with a recording: the pure rule the server decides every
 * recordings route with (server/src/http/recordings.routes.ts, through
 * server/src/auth/policy.ts) and the library page offers its buttons by
 * (client/src/app/library-controller.ts), so neither shows what the other
 * refuses. Deny by default: a relation or action missing here is refused.
 *
 * What access someone watches under (de-identified or identified, which
 * types) is the server's to compute (policy.ts recordingViewerAccess): it
 * needs scopes and ceilings. This table is only about acts.
 */

/**
 * Why someone sees a recording at all, strongest first:
 * - `admin`: an administrator;
 * - `recorder`: the host who recorded it;
 * - `granted`: a person it was granted to (`POST /api/recordings/:id/grants`);
 * - `cohort`: a member of a training room it was granted to (`POST /api/recordings/:id/room-grants`);
 * - `seat`: a learner someone who manages it seated in a group replay of it.
 * Nobody else learns it exists (RECORDING_NOT_FOUND).
 */
export const RECORDING_RELATIONS = ['admin', 'recorder', 'granted', 'cohort', 'seat'] as const;
export type RecordingRelation = (typeof RECORDING_RELATIONS)[number];

export const RECORDING_ACTIONS = ['watch', 'open-alone', 'replay-to-group', 'see-grants', 'grant', 'revoke', 'delete', 'find-people'] as const;
export type RecordingAction = (typeof RECORDING_ACTIONS)[number];

const MANAGERS: readonly RecordingRelation[] = ['admin', 'recorder'];

const RECORDING_RULES: Record<RecordingAction, readonly RecordingRelation[]> = {
  // Watching: in a replay room (theirs, or a group's they were seated in) and the recording's timeline.
  watch: ['admin', 'recorder', 'granted', 'cohort', 'seat'],
  // A private replay room of one's own. A seat in someone's group replay is no right to the recording:
  // leaving it (or being removed) ends it.
  'open-alone': ['admin', 'recorder', 'granted', 'cohort'],
  // Managing it: administrators and the host who recorded it (who consented the room to it).
  'replay-to-group': MANAGERS,
  'see-grants': MANAGERS,
  grant: MANAGERS,
  revoke: MANAGERS,
  delete: MANAGERS,
  // Searching the people who have signed in (id and name) to grant it or seat them: only to those who grant and
  // seat, and only through a recording they manage — a learner learns nobody's name from it.
  'find-people': MANAGERS,
};

/** The relation of a viewer to a recording, from what the server found of them (the strongest wins). */
export function recordingRelation(
  viewer: { userId: string; admin: boolean },
  rec: { startedBy: string },
  holds: { grant: boolean; cohort: boolean; seat: boolean },
): RecordingRelation | null {
  if (viewer.admin) return 'admin';
  if (rec.startedBy === viewer.userId) return 'recorder';
  if (holds.grant) return 'granted';
  if (holds.cohort) return 'cohort';
  return holds.seat ? 'seat' : null;
}

export function authorizeRecordingAction(relation: RecordingRelation | null, action: RecordingAction): Decision {
  if (relation === null || !Object.hasOwn(RECORDING_RULES, action)) return deny('RECORDING_NOT_FOUND', 'no access to this recording');
  if (RECORDING_RULES[action].includes(relation)) return allow;
  if (action === 'open-alone') return deny('FORBIDDEN', "ask the recording's host for access to open it yourself");
  return deny('FORBIDDEN', 'only an administrator or the host who recorded it may do this');
}

/** May this relation manage the recording (grant, revoke, delete, replay it to a group)? */
export const managesRecording = (relation: RecordingRelation | null): boolean => authorizeRecordingAction(relation, 'grant').allow;

/**
 * A recording may be granted to a room of these kinds: a training room is a
 * cohort (its participants, under their own access there). Granting to a
 * live clinical room would hand teaching material to whoever is invited to a
 * case conference next.
 */
export const GRANTABLE_ROOM_KINDS: readonly RoomKind[] = ['training'];

/** The learner roles a grant is given as: a student (de-identified, observer) or a resident (identified, clinician). */
export const LEARNER_ROLES = ['observer', 'clinician'] as const satisfies readonly RoomRole[];
export type LearnerRole = (typeof LEARNER_ROLES)[number];
