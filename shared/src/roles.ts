import { z } from 'zod';

export const ROOM_ROLES = ['host', 'clinician', 'specialist', 'surgeon', 'observer'] as const;
export const RoomRole = z.enum(ROOM_ROLES);
export type RoomRole = z.infer<typeof RoomRole>;

export const ROOM_KINDS = ['case-conference', 'surgical-guidance', 'training'] as const;
export const RoomKind = z.enum(ROOM_KINDS);
export type RoomKind = z.infer<typeof RoomKind>;

/**
 * Most participants in one room of each kind; the next join is refused with
 * ROOM_FULL (never a second copy of the room). Conferences and teaching hold
 * grand rounds; a surgical-guidance room is the operating team, its remote
 * specialists and a few observers — a lecture audience belongs in a training
 * room.
 */
export const ROOM_CAPACITY: Record<RoomKind, number> = {
  'case-conference': 100,
  training: 100,
  'surgical-guidance': 32,
};

/** Identity-provider scope that makes a user a Consilium administrator. */
export const ADMIN_SCOPE = 'consilium:admin';
