import { $changes, StateView } from '@colyseus/schema';
import { CaseResourceType, isR4ResourceType, type FhirResource } from '../../../shared/src/fhir.ts';
import { CaseEntryState, OBJECT_TEXT_TAG, type AccessRequestState, type ClinicState, type SceneObjectState } from '../../../shared/src/state.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { entryVisible as isVisible, mayViewAccessRequest, NO_ACCESS, objectTextVisible, objectVisible, resourceVariant, type DataAccess, type ParticipantAccess } from '../auth/policy.ts';
import { clinicalTime } from '../domain/case-summary.ts';
import { identifiedKey, variantOf, type CaseEntry, type PreparedCase } from '../domain/case-view.ts';
import { pseudonym } from '../domain/deidentify.ts';
import type { SeenCase } from '../cds/prefetch.ts';
import { sharedCaseEntries, syncedEntriesFor, type SyncedEntry } from './shared-case.ts';

/**
 * Decides, per seat (connected or dropped), which parts of the filtered
 * collections (case entries, scene objects, access requests) enter its
 * StateView — the only way data reaches a socket. Every newly visible case
 * resource is audited *before* it is added to the view; if the audit cannot
 * be written, nothing is disclosed. It keeps no copy of anyone's access: it
 * asks the roster (`accessOf`) each time; null means nothing at all.
 */
interface Viewer {
  sessionId: string;
  userId: string;
  /** What this seat has been shown is what its view holds (`view.has`, a bit on each entry): no second record of it. */
  view: StateView;
  queue: Promise<void>;
}

export interface DisclosureDeps {
  state: ClinicState;
  roomId: string;
  audit: (e: AuditEvent) => Promise<void>;
  accessOf: (userId: string) => ParticipantAccess | null;
  onError: (err: unknown) => void;
}

export class Disclosure {
  private readonly viewers = new Map<string, Viewer>();
  private readonly entries = new Map<string, CaseEntry>();
  private prepared: PreparedCase | null = null;
  /** The loaded case's entries, shared with other rooms showing it (shared-case.ts): held here, so they live while this room shows them. */
  private loaded: readonly SyncedEntry[] = [];
  /** Resources per type in the whole record (CaseEntryState.ofType). */
  private totals: Record<string, number> = {};
  /** Per resource (`Type/serverId`): its real clinical time and its rank among the room's resources of its type, oldest 0 (CaseEntryState.order). */
  private readonly timeline = new Map<string, { type: string; at: number; rank: number }>();

  constructor(private readonly deps: DisclosureDeps) {}

  get caseId(): string | null {
    return this.prepared?.id ?? null;
  }

  /** The case's patient (server id), for audit rows about it. */
  get patientId(): string | null {
    return this.prepared?.patientId ?? null;
  }

  // ---- the case ------------------------------------------------------------------

  loadCase(prepared: PreparedCase, resources: FhirResource[], totals: Record<string, number> = {}): void {
    this.prepared = prepared;
    this.totals = { ...totals };
    // Ranks by clinical time; ties as the summary lists them (newest first, case-summary.ts), so the later listed is older.
    this.timeline.clear();
    const ofType = new Map<string, { r: FhirResource; at: number; i: number }[]>();
    resources.forEach((r, i) => {
      const list = ofType.get(r.resourceType) ?? [];
      list.push({ r, at: clinicalTime(r) ?? -Infinity, i });
      ofType.set(r.resourceType, list);
    });
    for (const [type, list] of ofType) {
      list.sort((a, b) => a.at - b.at || b.i - a.i).forEach((x, rank) => this.timeline.set(`${type}/${x.r.id}`, { type, at: x.at, rank }));
    }
    this.loaded = sharedCaseEntries(prepared, resources);
    this.putEntries(this.loaded);
  }

  /**
   * The room's case as a reader with this access sees it — the very copies
   * their view holds — and the patient id those copies name (the pseudonym
   * when de-identified). Decision support fills prefetch from this alone.
   */
  seenBy(access: DataAccess): SeenCase | null {
    const c = this.prepared;
    if (!c) return null;
    return {
      patientId: access.identified ? c.patientId : pseudonym(c.key, 'Patient', c.patientId),
      entries: [...this.entries.values()].filter((e) => isVisible(e, access)),
      readable: (type) => isR4ResourceType(type) && resourceVariant(access, type) !== null,
      // A service was sent this reader's patient id and may know the patient by it: its text reaches
      // a reader who may not read the Patient as identified without the patient's identity.
      identityWithheld: resourceVariant(access, 'Patient') === 'identified' ? null : c.identity,
    };
  }

  hasResource(type: CaseResourceType, id: string): boolean {
    return this.entries.has(identifiedKey(type, id));
  }

  /** A live resource arrived: it reaches every client allowed to see it with the next patch. */
  addResource(resource: FhirResource): Promise<void> {
    if (!this.prepared) return Promise.resolve();
    const type = resource.resourceType;
    this.totals[type] = (this.totals[type] ?? 0) + 1;
    this.deps.state.caseEntries.forEach((s) => void (s.resourceType === type && (s.ofType = this.totals[type]!)));
    this.place(resource);
    this.putEntries(syncedEntriesFor(this.prepared, resource));
    return this.refreshAll();
  }

  /**
   * A live resource's rank among its type: after every one not newer than it (a reading taken now is the newest,
   * and nothing else moves); a late one moves up those newer than it.
   */
  private place(resource: FhirResource): void {
    const type = resource.resourceType;
    const at = clinicalTime(resource) ?? -Infinity;
    const rank = [...this.timeline.values()].filter((x) => x.type === type && x.at <= at).length;
    const moved = new Set<string>();
    for (const [key, x] of this.timeline) {
      if (x.type !== type || x.rank < rank) continue;
      x.rank++;
      moved.add(key);
    }
    this.timeline.set(`${type}/${resource.id}`, { type, at, rank });
    if (moved.size === 0) return;
    this.deps.state.caseEntries.forEach((s, key) => {
      const e = this.entries.get(key);
      const x = e && moved.has(ref(e)) ? this.timeline.get(ref(e)) : undefined;
      if (x) s.order = x.rank;
    });
  }

  /** The case was deleted: take it away from everyone. */
  clearCase(): Promise<void> {
    this.prepared = null;
    this.loaded = [];
    this.entries.clear();
    this.timeline.clear();
    this.deps.state.caseEntries.clear();
    return this.refreshAll();
  }

  /**
   * Every copy (identified, identity-withheld, de-identified) enters the synced
   * map at once; views pick. Created here, not when a view first needs it:
   * creating entries and adding them to a view in the same tick, right after
   * others left that view, was seen on raw frames to send the removed
   * (identified) entries again.
   */
  private putEntries(entries: readonly SyncedEntry[]): void {
    for (const e of entries) {
      this.entries.set(e.key, e);
      const s = new CaseEntryState();
      s.key = e.key;
      s.resourceType = e.resourceType;
      s.variant = e.variant;
      s.json = e.json;
      s.objects = this.objectsShowing(e);
      s.ofType = Math.max(this.totals[e.resourceType] ?? 0, 1);
      s.order = this.timeline.get(ref(e))?.rank ?? 0;
      this.deps.state.caseEntries.set(e.key, s);
    }
  }

  /** Models point at resources through the entries (every variant), so no client ever sees a server resource id. */
  private objectsShowing(e: CaseEntry): string {
    const ref = `${e.resourceType}/${e.resourceId}`;
    const ids: string[] = [];
    this.deps.state.objects.forEach((o) => void (o.resourceRef === ref && ids.push(o.id)));
    return ids.sort().join(' ');
  }

  /** A model was added or removed: the entries it shows list it (or no longer). */
  private rebind(resourceRef: string): void {
    if (!resourceRef) return;
    for (const e of this.entries.values()) {
      if (`${e.resourceType}/${e.resourceId}` !== resourceRef) continue;
      const s = this.deps.state.caseEntries.get(e.key);
      if (s) s.objects = this.objectsShowing(e);
    }
  }

  // ---- viewers -------------------------------------------------------------------

  attach(sessionId: string, userId: string): { view: StateView; ready: Promise<void> } {
    const viewer: Viewer = { sessionId, userId, view: new StateView(), queue: Promise.resolve() };
    this.viewers.set(sessionId, viewer);
    return { view: viewer.view, ready: this.refresh(viewer) };
  }

  viewOf(sessionId: string): StateView | undefined {
    return this.viewers.get(sessionId)?.view;
  }

  detach(sessionId: string): void {
    this.viewers.delete(sessionId);
  }

  /** Re-evaluate one user (their access changed) or everyone (requests, case, objects changed). */
  refreshUser(userId: string): Promise<void> {
    return Promise.all([...this.viewers.values()].filter((v) => v.userId === userId).map((v) => this.refresh(v))).then(() => {});
  }

  refreshAll(): Promise<void> {
    return Promise.all([...this.viewers.values()].map((v) => this.refresh(v))).then(() => {});
  }

  /** A scene object was added: show it to whoever may see it, its text to whoever may read it. */
  objectAdded(obj: SceneObjectState): void {
    this.rebind(obj.resourceRef);
    for (const v of this.viewers.values()) this.showObject(v.view, obj, this.access(v));
  }

  /** The object, if this user may see it; otherwise undefined (acting on what one cannot see is acting on nothing). */
  visibleTo<T extends SceneObjectState>(userId: string, obj: T | undefined): T | undefined {
    const access = this.deps.accessOf(userId);
    return obj && access && this.objectVisible(obj, access.data) ? obj : undefined;
  }

  /** A scene object was removed. */
  objectRemoved(obj: SceneObjectState): void {
    this.rebind(obj.resourceRef);
  }

  // ---- internals -----------------------------------------------------------------

  private access(v: Viewer): DataAccess {
    return this.deps.accessOf(v.userId)?.data ?? NO_ACCESS;
  }

  private objectVisible(obj: SceneObjectState, access: DataAccess): boolean {
    return objectVisible(access, obj);
  }

  /**
   * The object (geometry, kind, author) and, separately, its free text: the
   * label field is tagged OBJECT_TEXT_TAG, so a view holding the object without
   * the tag never receives it.
   */
  private showObject(view: StateView, obj: SceneObjectState, access: DataAccess): void {
    const visible = this.objectVisible(obj, access);
    const readable = visible && objectTextVisible(access, obj);
    if (!visible) {
      if (view.has(obj)) view.remove(obj);
      // Removing the object does not clear its tag bit (schema 5.0.34): clear it without a wire op — a
      // field DELETE queued for an object the same patch deletes would reach the client unbound.
      const tree = obj[$changes];
      if (tree) view.removeTag(tree, OBJECT_TEXT_TAG);
      return;
    }
    if (!view.has(obj)) view.add(obj);
    if (readable && !view.hasTag(obj, OBJECT_TEXT_TAG)) view.add(obj, OBJECT_TEXT_TAG);
    else if (!readable && view.hasTag(obj, OBJECT_TEXT_TAG)) view.remove(obj, OBJECT_TEXT_TAG);
  }

  /** A break-glass request reaches whom the policy says (mayViewAccessRequest). */
  private requestVisible(req: AccessRequestState, v: Viewer): boolean {
    const access = this.deps.accessOf(v.userId);
    return access !== null && mayViewAccessRequest({ userId: v.userId, access }, req, this.deps.accessOf(req.userId));
  }

  /** Serialized per viewer, so concurrent changes apply in order. */
  private refresh(v: Viewer): Promise<void> {
    v.queue = v.queue.then(() => this.apply(v)).catch((err: unknown) => this.deps.onError(err));
    return v.queue;
  }

  private async apply(v: Viewer): Promise<void> {
    if (this.viewers.get(v.sessionId) !== v) return;
    const participant = this.deps.accessOf(v.userId);
    const access = participant?.data ?? NO_ACCESS;
    const scope = participant?.scope ?? '';

    // Withdraw first: revoked data leaves with the very next patch.
    const revoked: CaseEntry[] = [];
    this.deps.state.caseEntries.forEach((s, key) => {
      if (!v.view.has(s)) return;
      const entry = this.entries.get(key);
      if (!entry || !isVisible(entry, access)) {
        v.view.remove(s);
        if (entry) revoked.push(entry);
      }
    });
    this.deps.state.objects.forEach((obj) => this.showObject(v.view, obj, access));
    // The shared image viewer names a series: only for those who may see the images.
    const imaging = resourceVariant(access, 'ImagingStudy') !== null;
    this.deps.state.viewer.forEach((vs) => {
      if (imaging && !v.view.has(vs)) v.view.add(vs);
      else if (!imaging && v.view.has(vs)) v.view.remove(vs);
    });
    this.deps.state.accessRequests.forEach((req) => {
      const visible = this.requestVisible(req, v);
      if (visible && !v.view.has(req)) v.view.add(req);
      else if (!visible && v.view.has(req)) v.view.remove(req);
    });

    const added = [...this.entries.values()].filter((e) => !this.shows(v, e.key) && isVisible(e, access));
    if (revoked.length > 0) {
      await this.deps.audit({ ...this.auditBase(v), action: 'disclosure.revoked', details: { resources: revoked.map(ref), scope } });
    }
    if (added.length === 0 || !participant) return;

    const base = participant.base;
    const grants = participant.grants;
    const byBasis = { scope: added.filter((e) => isVisible(e, base)), 'break-glass': added.filter((e) => !isVisible(e, base)) };
    for (const [basis, list] of Object.entries(byBasis)) {
      if (list.length === 0) continue;
      await this.deps.audit({
        ...this.auditBase(v),
        action: 'disclosure',
        details: { basis, variant: variantOf(list), scope, ...(basis === 'break-glass' ? { grants } : {}), resources: list.map(ref) },
      });
    }
    // Audited; now re-check against the access of this moment before disclosing.
    if (this.viewers.get(v.sessionId) !== v) return;
    const now = this.access(v);
    for (const e of added) {
      const s = this.deps.state.caseEntries.get(e.key);
      if (s && this.entries.get(e.key) === e && isVisible(e, now)) v.view.add(s);
    }
  }

  private shows(v: Viewer, key: string): boolean {
    const s = this.deps.state.caseEntries.get(key);
    return s !== undefined && v.view.has(s);
  }

  private auditBase(v: Viewer): Pick<AuditEvent, 'actor' | 'roomId' | 'caseId' | 'patientId'> {
    return { actor: v.userId, roomId: this.deps.roomId, caseId: this.prepared?.id ?? null, patientId: this.prepared?.patientId ?? null };
  }
}

const ref = (e: CaseEntry) => `${e.resourceType}/${e.resourceId}`;
