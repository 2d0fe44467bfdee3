import { z } from 'zod';
import { RoomKind, RoomRole } from './roles.ts';
import { R4_RESOURCE_TYPES } from './fhir.ts';
import { safeText } from './text.ts';

/** HTTP request and response bodies. Free text obeys the shared text rule (text.ts). */
export const UserId = z.string().regex(/^[A-Za-z0-9._@:-]{1,128}$/, 'user ids are 1–128 of A-Z a-z 0-9 . _ @ : -');

export const DevLoginBody = z.strictObject({
  userId: UserId,
  name: safeText({ max: 120 }).trim().min(1),
  admin: z.boolean().optional(),
  /** SMART scopes the development identity token carries (for direct case reads). */
  scopes: z.array(safeText({ max: 100 })).max(20).optional(),
});
export type DevLoginBody = z.infer<typeof DevLoginBody>;
export interface DevLoginResponse {
  token: string;
  expiresAt: string;
}

/** SMART v2 style: `patient/<Type|*>.<cruds>` with any FHIR R4 type (read needs r or s) or `deidentified`. */
export const Scope = z
  .string()
  .regex(new RegExp(`^(deidentified|patient/(\\*|${R4_RESOURCE_TYPES.join('|')})\\.([cruds]{1,5}|read))$`), 'scopes are patient/<Type|*>.<cruds> or deidentified');
export const Scopes = z.array(Scope).max(20);

export const ParticipantInput = z.strictObject({
  userId: UserId,
  role: RoomRole,
  /** Explicit scopes; omitted → the role's defaults. */
  scopes: Scopes.optional(),
});
export type ParticipantInput = z.infer<typeof ParticipantInput>;

const participants = z
  .array(ParticipantInput)
  .max(200)
  .refine((list) => new Set(list.map((p) => p.userId)).size === list.length, 'each userId may appear once');

/** The most anyone in the room may see, set by an administrator; hosts grant only within it. */
const ScopeCeiling = Scopes.min(1);

export const CreateRoomBody = z.strictObject({
  title: safeText({ max: 200 }).trim().min(1),
  kind: RoomKind,
  caseId: z.string().uuid().optional(),
  participants: participants.default([]),
  scopeCeiling: ScopeCeiling.nullable().optional(),
  /** Surgical guidance: observers may watch the surgeon's camera video (default false). */
  observerVideo: z.boolean().optional(),
});
export type CreateRoomBody = z.input<typeof CreateRoomBody>;

export const PatchRoomBody = z
  .strictObject({
    title: safeText({ max: 200 }).trim().min(1).optional(),
    kind: RoomKind.optional(),
    caseId: z.string().uuid().nullable().optional(),
    participants: participants.optional(),
    scopeCeiling: ScopeCeiling.nullable().optional(),
    observerVideo: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export type PatchRoomBody = z.input<typeof PatchRoomBody>;

export interface ParticipantDto {
  userId: string;
  role: RoomRole;
  /** null → the role's default scopes */
  scopes?: string[] | null;
}

export const ParticipantUpdateBody = z.strictObject({ role: RoomRole, scopes: Scopes.nullable().optional() });

/** Console moderation; `minutes` only for kick (a cool-down instead of "until re-admitted"). */
export const ModerationBody = z.strictObject({
  action: z.enum(['mute', 'unmute', 'kick']),
  userId: UserId,
  minutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
});
export const AccessDecisionBody = z.strictObject({ decision: z.enum(['approve', 'deny']) });
export type ParticipantUpdateBody = z.input<typeof ParticipantUpdateBody>;

/** A problem with one bundle entry (or the bundle, entry null): where and why it was not stored. */
export interface ImportProblemDto {
  entry: number | null;
  path: string;
  reason: string;
}
export interface CaseImportResponse {
  caseId: string;
  patientId: string;
  /** Resources stored (Patient included). */
  resources: number;
  /** Stored resources by type. */
  stored: Record<string, number>;
  /** Entries refused, each with its index, path and reason. */
  refused: ImportProblemDto[];
  /** Entries that were not patient data (search outcomes). */
  skipped: ImportProblemDto[];
}
export interface RoomDto {
  id: string;
  title: string;
  kind: RoomKind;
  caseId: string | null;
  status: 'open' | 'closed';
  participants: ParticipantDto[];
  /** null: no ceiling beyond patient/*.rs. */
  scopeCeiling: string[] | null;
  /** Surgical guidance: observers may watch the surgeon's camera video. */
  observerVideo: boolean;
  live: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface TicketResponse {
  ticket: string;
  expiresAt: string;
  roomId: string;
  role: RoomRole;
  scopes: string[];
  /** WebSocket/HTTP endpoint the Colyseus client connects to. */
  endpoint: string;
  /** LiveKit connection for voice; null when voice is off. */
  voice: { url: string; token: string } | null;
  /**
   * LiveKit connection for the surgeon's camera video (surgical guidance only): a separate LiveKit
   * room whose token the server mints only for those the policy lets see it. null: no video for you.
   */
  video: { url: string; token: string } | null;
}
