import { z } from 'zod';

export const ROOM_ROLES = ['host', 'clinician', 'specialist', 'surgeon', 'observer'] as const;
export const RoomRole = z.enum(ROOM_ROLES);
export type RoomRole = z.infer<typeof RoomRole>;

export const ROOM_KINDS = ['case-conference', 'surgical-guidance', 'training'] as const;
export const RoomKind = z.enum(ROOM_KINDS);
export type RoomKind = z.infer<typeof RoomKind>;

/** Identity-provider scope that makes a user a Consilium administrator. */
export const ADMIN_SCOPE = 'consilium:admin';
