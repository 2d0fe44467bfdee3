import { z } from 'zod';

export const ROOM_ROLES = ['host', 'clinician', 'specialist', 'surgeon', 'observer'] as const;
export const RoomRole = z.enum(ROOM_ROLES);
export type RoomRole = z.infer<typeof RoomRole>;

/**
 * `replay`: a recording watched together (the host controls play, pause, seek and speed).
 * `grand-rounds`: a lecture hall — a few presenters act, the audience attends receive-only.
 */
export const ROOM_KINDS = ['case-conference', 'surgical-guidance', 'training', 'replay', 'grand-rounds'] as const;
export const RoomKind = z.enum(ROOM_KINDS);
export type RoomKind = z.infer<typeof RoomKind>;

/**
 * Most participants in one room of each kind; the next join is refused with
 * ROOM_FULL (never a second copy of the room). Conferences, teaching and replays hold
 * a hundred; a surgical-guidance room is the operating team, its remote
 * specialists and a few observers; a lecture audience belongs in grand rounds.
 */
export const ROOM_CAPACITY: Record<RoomKind, number> = {
  'case-conference': 100,
  training: 100,
  'surgical-guidance': 32,
  // A year group watching a recorded session together.
  replay: 100,
  // A lecture hall: a few presenters, the rest observers who receive and raise a hand.
  'grand-rounds': 500,
};

/** Identity-provider scope that makes a user a Consilium administrator. */
export const ADMIN_SCOPE = 'consilium:admin';
