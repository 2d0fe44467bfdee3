import type { ClinicSession } from '../sdk/session.ts';
import { announce } from './announcer.ts';
import { clear, h } from './dom.ts';

const mmss = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * Emergency-access (break-glass) requests at the top of the room panel: for those who may decide them (hosts), each
 * pending request with requester, role, reason, a countdown to when it lapses, and
 * Approve/Deny; for the requester, their own request's state. A new request is announced
 * to screen readers at once (assertive); the countdown itself is not re-announced.
 */
export function hostAlerts(session: ClinicSession, mayDecide: (requesterUserId: string) => boolean): { el: HTMLElement; refresh(): void; tick(): void } {
  const el = h('section', { class: 'alerts', 'aria-label': 'Alerts', 'data-testid': 'alerts' });
  const seen = new Set<string>();
  const countdowns: { el: HTMLElement; expiresAt: number; label: string }[] = [];
  const refresh = () => {
    const myUserId = session.state.participants.get(session.sessionId)?.userId;
    const list = session.accessRequests().filter((r) => r.status === 'pending' || (r.status === 'approved' && r.expiresAt > Date.now()) || r.userId === myUserId);
    clear(el);
    countdowns.length = 0;
    for (const r of list) {
      const mine = r.userId === myUserId;
      if (!mine && !mayDecide(r.userId)) continue;
      const types = r.resourceTypes.split(/[\s,]+/).filter(Boolean).map(sectionName).join(', ');
      if (!seen.has(r.id) && r.status === 'pending' && !mine) announce(`Emergency access request from ${r.name}: ${types}. Reason: ${r.reason}`, true);
      seen.add(r.id);
      const countdown = h('span', { class: 'countdown' });
      const label = r.status === 'pending' ? (mine ? 'waiting for the host, lapses in' : 'lapses in') : r.status === 'approved' ? 'access ends in' : '';
      if (label) countdowns.push({ el: countdown, expiresAt: r.expiresAt, label });
      const decide = (approve: boolean) => async () => {
        const reply = approve ? await session.approve(r.id) : await session.deny(r.id);
        if (!reply.ok) err.textContent = reply.error.message;
        else announce(approve ? `Approved emergency access for ${r.name}.` : `Denied emergency access for ${r.name}.`);
      };
      const err = h('p', { class: 'error', role: 'alert' });
      el.append(
        h('div', { class: `alert ${r.status}`, 'data-testid': 'access-request' },
          h('strong', {}, mine ? `Your emergency access request: ${types}` : `Emergency access request: ${r.name} (${r.role}) asks for ${types}`),
          h('p', {}, `Reason: “${r.reason}”`),
          h('p', { class: 'muted' }, `Status: ${r.status}`, label ? ' — ' : '', countdown),
          !mine && mayDecide(r.userId) && r.status === 'pending'
            ? h('div', { class: 'row' }, h('button', { class: 'primary', onclick: decide(true) }, `Approve for ${r.name}`), h('button', { class: 'danger', onclick: decide(false) }, 'Deny'))
            : null,
          err,
        ),
      );
    }
    tick();
  };
  const tick = () => {
    for (const c of countdowns) c.el.textContent = `${c.label} ${mmss(c.expiresAt - Date.now())}`;
  };
  return { el, refresh, tick };
}

/** Clinical names of the FHIR resource types a case may hold. */
export function sectionName(type: string): string {
  return (
    {
      Patient: 'Demographics',
      Observation: 'Vitals and labs',
      Condition: 'Problems',
      AllergyIntolerance: 'Allergies',
      MedicationStatement: 'Medications',
      Procedure: 'Procedures',
      ImagingStudy: 'Imaging',
      DocumentReference: 'Documents',
      Encounter: 'Visits',
      MedicationRequest: 'Prescriptions',
      Medication: 'Medication details',
      Immunization: 'Immunizations',
      DiagnosticReport: 'Reports',
      Practitioner: 'Clinicians',
      Organization: 'Organisations',
      Location: 'Locations',
    } as Record<string, string>
  )[type] ?? type;
}
