import { z } from 'zod';
import { RoomKind, RoomRole } from './roles.ts';

/** HTTP request and response bodies. */
export const UserId = z.string().regex(/^[A-Za-z0-9._@:-]{1,128}$/, 'user ids are 1–128 of A-Z a-z 0-9 . _ @ : -');

export const DevLoginBody = z.strictObject({
  userId: UserId,
  name: z.string().trim().min(1).max(120),
  admin: z.boolean().optional(),
});
export type DevLoginBody = z.infer<typeof DevLoginBody>;
export interface DevLoginResponse {
  token: string;
  expiresAt: string;
}

export const ParticipantInput = z.strictObject({ userId: UserId, role: RoomRole });
export type ParticipantInput = z.infer<typeof ParticipantInput>;

const participants = z
  .array(ParticipantInput)
  .max(200)
  .refine((list) => new Set(list.map((p) => p.userId)).size === list.length, 'each userId may appear once');

export const CreateRoomBody = z.strictObject({
  title: z.string().trim().min(1).max(200),
  kind: RoomKind,
  caseId: z.string().uuid().optional(),
  participants: participants.default([]),
});
export type CreateRoomBody = z.input<typeof CreateRoomBody>;

export const PatchRoomBody = z
  .strictObject({
    title: z.string().trim().min(1).max(200).optional(),
    kind: RoomKind.optional(),
    caseId: z.string().uuid().nullable().optional(),
    participants: participants.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export type PatchRoomBody = z.input<typeof PatchRoomBody>;

export interface ParticipantDto {
  userId: string;
  role: RoomRole;
}
export interface RoomDto {
  id: string;
  title: string;
  kind: RoomKind;
  caseId: string | null;
  status: 'open' | 'closed';
  participants: ParticipantDto[];
  live: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface TicketResponse {
  ticket: string;
  expiresAt: string;
  roomId: string;
  role: RoomRole;
  /** WebSocket/HTTP endpoint the Colyseus client connects to. */
  endpoint: string;
}
