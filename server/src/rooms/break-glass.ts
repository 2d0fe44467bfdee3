import { randomUUID } from 'node:crypto';
import type { CaseResourceType } from '../../../shared/src/fhir.ts';
import type { RoomRole } from '../../../shared/src/roles.ts';
import { AccessRequestState, type ClinicState } from '../../../shared/src/state.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { breakGlassMode } from '../auth/policy.ts';
import { fail, ok, type Actor, type CommandResult } from './commands/command.ts';
import type { Disclosure } from './disclosure.ts';

export interface BreakGlassSettings {
  /** Roles that grant themselves emergency access at once (others need the host). */
  selfGrantRoles: readonly RoomRole[];
  grantMs: number;
  /** How long a request waits for the host before it lapses. */
  pendingMs: number;
}

export interface BreakGlassDeps {
  state: ClinicState;
  disclosure: Disclosure;
  roomId: string;
  audit: (e: AuditEvent) => Promise<void>;
  now: () => number;
  schedule: (fn: () => void, ms: number) => void;
  settings: BreakGlassSettings;
}

/**
 * Emergency ("break-glass") access to resource types beyond one's scopes:
 * requested with a reason, granted by policy (self-grant for configured
 * roles, else host approval), time-boxed, shown to the host, always audited.
 * The request in `state.accessRequests` is the grant: Disclosure reads it.
 */
export class BreakGlassDesk {
  constructor(private readonly deps: BreakGlassDeps) {}

  async request(actor: Actor, resourceTypes: CaseResourceType[], reason: string): Promise<CommandResult> {
    const { state, disclosure, settings } = this.deps;
    if (!disclosure.caseId) return fail('NO_CASE');
    const mode = breakGlassMode(actor.role, settings.selfGrantRoles);
    if (mode === null) return fail('FORBIDDEN');
    let pending = false;
    state.accessRequests.forEach((r) => (pending ||= r.userId === actor.userId && r.status === 'pending'));
    if (pending) return fail('BREAK_GLASS_PENDING');

    const types = [...new Set(resourceTypes)];
    const req = new AccessRequestState();
    req.id = randomUUID();
    req.userId = actor.userId;
    req.name = actor.name;
    req.resourceTypes = types.join(' ');
    req.reason = reason;
    req.status = 'pending';
    req.expiresAt = this.deps.now() + settings.pendingMs;
    await this.audit(actor.userId, 'break-glass.request', req, { resourceTypes: types, reason, mode });
    state.accessRequests.set(req.id, req);

    if (mode === 'self-grant') {
      await this.grant(req, actor.userId);
    } else {
      this.deps.schedule(() => void this.lapse(req.id), settings.pendingMs);
      await disclosure.refreshAll(); // the hosts see the request
    }
    return ok({ requestId: req.id, status: req.status, expiresAt: req.expiresAt });
  }

  async approve(host: Actor, requestId: string): Promise<CommandResult> {
    const req = this.pending(requestId);
    if (!req) return fail('REQUEST_NOT_FOUND');
    await this.grant(req, host.userId);
    return ok({ requestId, status: req.status, expiresAt: req.expiresAt });
  }

  async deny(host: Actor, requestId: string, reason: string | undefined): Promise<CommandResult> {
    const req = this.pending(requestId);
    if (!req) return fail('REQUEST_NOT_FOUND');
    req.status = 'denied';
    await this.audit(host.userId, 'break-glass.deny', req, { reason: reason ?? null });
    return ok({ requestId, status: req.status });
  }

  private pending(id: string): AccessRequestState | undefined {
    const req = this.deps.state.accessRequests.get(id);
    return req?.status === 'pending' ? req : undefined;
  }

  private async grant(req: AccessRequestState, approvedBy: string): Promise<void> {
    const expiresAt = this.deps.now() + this.deps.settings.grantMs;
    await this.audit(approvedBy, 'break-glass.approve', req, { resourceTypes: req.resourceTypes.split(' '), until: new Date(expiresAt).toISOString(), selfGranted: approvedBy === req.userId });
    req.status = 'approved';
    req.expiresAt = expiresAt;
    this.deps.schedule(() => void this.expire(req.id), this.deps.settings.grantMs);
    await this.deps.disclosure.refreshAll();
  }

  private async expire(id: string): Promise<void> {
    const req = this.deps.state.accessRequests.get(id);
    if (!req || req.status !== 'approved') return;
    req.status = 'expired';
    await this.deps.disclosure.refreshUser(req.userId);
    await this.audit('system', 'break-glass.expire', req, { resourceTypes: req.resourceTypes.split(' ') });
  }

  private async lapse(id: string): Promise<void> {
    const req = this.pending(id);
    if (!req) return;
    req.status = 'expired';
    await this.audit('system', 'break-glass.expire', req, { lapsed: 'no decision in time' });
  }

  private audit(actor: string, action: AuditEvent['action'], req: AccessRequestState, details: Record<string, unknown>): Promise<void> {
    return this.deps.audit({ actor, action, roomId: this.deps.roomId, caseId: this.deps.disclosure.caseId, subject: req.userId, details: { requestId: req.id, ...details } });
  }
}
