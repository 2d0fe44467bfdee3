import { randomUUID } from 'node:crypto';
import { CaseResourceType } from '../../../shared/src/fhir.ts';
import type { RoomRole } from '../../../shared/src/roles.ts';
import { AccessRequestState, type ClinicState } from '../../../shared/src/state.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { breakGlassMode, type Grant } from '../auth/policy.ts';
import type { AccessDecision, ClientReply } from '../../../shared/src/messages.ts';
import { fail, ok, type Actor, type CommandResult } from './types.ts';

export interface BreakGlassSettings {
  /** Roles that grant themselves emergency access at once (others need the host). */
  selfGrantRoles: readonly RoomRole[];
  grantMs: number;
  /** How long a request waits for the host before it lapses. */
  pendingMs: number;
}

/** A participant may ask again at most this often (each request is a synced entry and audit rows). */
export const BREAK_GLASS_COOLDOWN_MS = 10_000;
/** Decided requests kept in the state for the record on screen; older ones are dropped from it (never from the audit). */
const KEEP_DECIDED = 20;

export interface BreakGlassDeps {
  state: ClinicState;
  roomId: string;
  caseId: () => string | null;
  patientId: () => string | null;
  audit: (e: AuditEvent) => Promise<void>;
  now: () => number;
  schedule: (fn: () => void, ms: number) => void;
  settings: BreakGlassSettings;
  /** A user's grants changed: re-derive their access. */
  grantsChanged: (userId: string) => Promise<void>;
  /** A request appeared or changed: hosts and the requester must see it. */
  requestsChanged: () => Promise<void>;
}

/**
 * Emergency ("break-glass") access to resource types beyond one's scopes:
 * requested with a reason, granted by policy (self-grant for configured
 * roles, else another host's approval), time-boxed, always audited. A grant
 * belongs to the role it was granted under and ends when that role changes
 * or the participant leaves. At most one pending request and one active grant
 * per participant. The entry in `state.accessRequests` is the record the
 * roster derives grants from (`grantsOf`).
 */
export class BreakGlassDesk {
  private readonly lastRequest = new Map<string, number>();

  constructor(private readonly deps: BreakGlassDeps) {}

  async request(actor: Actor, resourceTypes: CaseResourceType[], reason: string): Promise<CommandResult<AccessDecision>> {
    const { state, settings, now } = this.deps;
    if (!this.deps.caseId()) return fail('NO_CASE');
    const mode = breakGlassMode(actor.role, settings.selfGrantRoles);
    if (mode === null) return fail('FORBIDDEN');
    const mine = [...state.accessRequests.values()].filter((r) => r.userId === actor.userId);
    if (mine.some((r) => r.status === 'pending')) return fail('BREAK_GLASS_PENDING');
    if (mine.some((r) => r.status === 'approved' && r.expiresAt > now())) return fail('BREAK_GLASS_ACTIVE');
    const last = this.lastRequest.get(actor.userId);
    if (last !== undefined && now() - last < BREAK_GLASS_COOLDOWN_MS) return fail('RATE_LIMITED', 'wait a few seconds before asking again');
    this.lastRequest.set(actor.userId, now());

    const types = [...new Set(resourceTypes)];
    const req = new AccessRequestState();
    req.id = randomUUID();
    req.userId = actor.userId;
    req.name = actor.name;
    req.role = actor.role;
    req.resourceTypes = types.join(' ');
    req.reason = reason;
    req.status = 'pending';
    req.expiresAt = now() + settings.pendingMs;
    await this.audit(actor.userId, 'break-glass.request', req, { resourceTypes: types, reason, mode, role: actor.role });
    this.prune();
    state.accessRequests.set(req.id, req);

    if (mode === 'self-grant') {
      await this.grant(req, actor.userId);
    } else {
      this.deps.schedule(() => void this.lapse(req.id), settings.pendingMs);
      await this.deps.requestsChanged();
    }
    return ok({ requestId: req.id, status: req.status, expiresAt: req.expiresAt });
  }

  /** Who asked a pending request (the policy's `targetSelf`: nobody approves their own request). */
  requesterOf(requestId: string): string | null {
    return this.pending(requestId)?.userId ?? null;
  }

  /** Who may approve was decided before (policy.ts: access.approve in the room, authorizeConsoleDecision from the console). */
  async approve(approver: { userId: string }, requestId: string): Promise<CommandResult<AccessDecision>> {
    const req = this.pending(requestId);
    if (!req) return fail('REQUEST_NOT_FOUND');
    await this.grant(req, approver.userId);
    return ok({ requestId, status: req.status, expiresAt: req.expiresAt });
  }

  async deny(decider: { userId: string }, requestId: string, reason: string | undefined): Promise<CommandResult<ClientReply<'access.deny'>>> {
    const req = this.pending(requestId);
    if (!req) return fail('REQUEST_NOT_FOUND');
    req.status = 'denied';
    await this.audit(decider.userId, 'break-glass.deny', req, { reason: reason ?? null });
    await this.deps.requestsChanged();
    return ok({ requestId, status: req.status });
  }

  /** Grants as the roster derives access from them. */
  grantsOf(userId: string): Grant[] {
    const grants: Grant[] = [];
    this.deps.state.accessRequests.forEach((r) => {
      if (r.userId !== userId || r.status !== 'approved') return;
      const types = r.resourceTypes.split(' ').flatMap((t) => {
        const parsed = CaseResourceType.safeParse(t);
        return parsed.success ? [parsed.data] : [];
      });
      grants.push({ types, role: r.role as RoomRole, expiresAt: r.expiresAt });
    });
    return grants;
  }

  /** End this user's grants and pending requests (their role changed, they left, or they were removed). */
  async endFor(userId: string, why: 'role-changed' | 'left' | 'removed'): Promise<void> {
    const open = [...this.deps.state.accessRequests.values()].filter((r) => r.userId === userId && (r.status === 'approved' || r.status === 'pending'));
    if (open.length === 0) return;
    for (const req of open) req.status = 'expired';
    await Promise.all(open.map((req) => this.audit('system', 'break-glass.expire', req, { ended: why })));
    await this.deps.requestsChanged();
  }

  private pending(id: string): AccessRequestState | undefined {
    const req = this.deps.state.accessRequests.get(id);
    return req?.status === 'pending' ? req : undefined;
  }

  private async grant(req: AccessRequestState, approvedBy: string): Promise<void> {
    const expiresAt = this.deps.now() + this.deps.settings.grantMs;
    await this.audit(approvedBy, 'break-glass.approve', req, { resourceTypes: req.resourceTypes.split(' '), until: new Date(expiresAt).toISOString(), selfGranted: approvedBy === req.userId, role: req.role });
    req.status = 'approved';
    req.expiresAt = expiresAt;
    this.deps.schedule(() => void this.expire(req.id, expiresAt), this.deps.settings.grantMs);
    await this.deps.grantsChanged(req.userId);
    await this.deps.requestsChanged();
  }

  private async expire(id: string, expiresAt: number): Promise<void> {
    const req = this.deps.state.accessRequests.get(id);
    if (!req || req.status !== 'approved' || req.expiresAt !== expiresAt) return;
    req.status = 'expired';
    await this.deps.grantsChanged(req.userId);
    await this.audit('system', 'break-glass.expire', req, { resourceTypes: req.resourceTypes.split(' ') });
  }

  private async lapse(id: string): Promise<void> {
    const req = this.pending(id);
    if (!req) return;
    req.status = 'expired';
    await this.audit('system', 'break-glass.expire', req, { lapsed: 'no decision in time' });
  }

  /** Keep the synced list short: drop the oldest decided requests beyond KEEP_DECIDED. */
  private prune(): void {
    const decided = [...this.deps.state.accessRequests.values()].filter((r) => r.status === 'denied' || r.status === 'expired');
    for (const r of decided.slice(0, Math.max(0, decided.length - KEEP_DECIDED))) this.deps.state.accessRequests.delete(r.id);
  }

  private audit(actor: string, action: AuditEvent['action'], req: AccessRequestState, details: Record<string, unknown>): Promise<void> {
    return this.deps.audit({ actor, action, roomId: this.deps.roomId, caseId: this.deps.caseId(), patientId: this.deps.patientId(), subject: req.userId, details: { requestId: req.id, ...details } });
  }
}
