import type { ClinicSession } from '../sdk/session.ts';
import { announce } from './announcer.ts';
import { clear, h } from './dom.ts';

const mmss = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

const SOUND_KEY = 'consilium.alertSound';

/** A short two-tone chime (no audio file to fetch); silent where the page may not play sound yet. */
function chime(): void {
  try {
    const ctx = new AudioContext();
    [880, 660].forEach((hz, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.15, ctx.currentTime + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + i * 0.18 + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.18);
      osc.stop(ctx.currentTime + i * 0.18 + 0.17);
    });
    setTimeout(() => void ctx.close(), 600);
  } catch {
    // no audio here: the alert itself still shows
  }
}

/**
 * Emergency-access (break-glass) requests, fixed at the top of the window so a host scrolled down the panels or
 * presenting cannot miss them: for those who may decide them (hosts), each pending request with requester, role,
 * reason, a countdown to when it lapses, and Approve/Deny, a badge with the number waiting (also in the tab's
 * title) and an optional chime; for the requester, "Request sent — waiting for the host", then the outcome.
 * A new request is announced to screen readers at once (assertive); the countdown itself is not re-announced.
 */
export function hostAlerts(session: ClinicSession, mayDecide: (requesterUserId: string) => boolean): { el: HTMLElement; soundToggle: HTMLElement; refresh(): void; tick(): void } {
  const list = h('div', { class: 'alert-list' });
  const badge = h('span', { class: 'badge alert-badge', 'data-testid': 'alert-badge' });
  const sound = h('input', { type: 'checkbox', id: 'alert-sound', checked: localStorage.getItem(SOUND_KEY) === '1', onchange: () => localStorage.setItem(SOUND_KEY, sound.checked ? '1' : '0') });
  const header = h('div', { class: 'row alert-head' }, h('strong', {}, 'Alerts'), badge);
  const soundToggle = h('label', { class: 'row alert-sound', for: 'alert-sound', title: 'Play a chime when someone asks for emergency access' }, sound, 'Sound on new requests');
  const el = h('section', { class: 'alerts', 'aria-label': 'Alerts', 'data-testid': 'alerts', hidden: true }, header, list);
  const baseTitle = document.title;
  const seen = new Set<string>();
  const countdowns: { el: HTMLElement; expiresAt: number; label: string }[] = [];
  const refresh = () => {
    const myUserId = session.state.participants.get(session.sessionId)?.userId;
    const requests = session.accessRequests().filter((r) => r.status === 'pending' || (r.status === 'approved' && r.expiresAt > Date.now()) || r.userId === myUserId);
    clear(list);
    countdowns.length = 0;
    let waiting = 0;
    let shown = 0;
    for (const r of requests) {
      const mine = r.userId === myUserId;
      if (!mine && !mayDecide(r.userId)) continue;
      const types = r.resourceTypes.split(/[\s,]+/).filter(Boolean).map(sectionName).join(', ');
      if (!seen.has(r.id) && r.status === 'pending' && !mine) {
        announce(`Emergency access request from ${r.name}: ${types}. Reason: ${r.reason}`, true);
        if (sound.checked) chime();
      }
      seen.add(r.id);
      shown++;
      if (r.status === 'pending' && !mine) waiting++;
      const countdown = h('span', { class: 'countdown' });
      const label = r.status === 'pending' ? (mine ? 'waiting for the host, lapses in' : 'lapses in') : r.status === 'approved' ? 'access ends in' : '';
      if (label) countdowns.push({ el: countdown, expiresAt: r.expiresAt, label });
      const decide = (approve: boolean) => async () => {
        const reply = approve ? await session.approve(r.id) : await session.deny(r.id);
        if (!reply.ok) err.textContent = reply.error.message;
        else announce(approve ? `Approved emergency access for ${r.name}.` : `Denied emergency access for ${r.name}.`);
      };
      const err = h('p', { class: 'error', role: 'alert' });
      const headline = mine
        ? r.status === 'pending' ? `Request sent — waiting for the host: ${types}` : `Your emergency access request: ${types}`
        : `Emergency access request: ${r.name} (${r.role}) asks for ${types}`;
      list.append(
        h('div', { class: `alert ${r.status}`, 'data-testid': 'access-request' },
          h('strong', {}, headline),
          h('p', {}, `Reason: “${r.reason}”`),
          h('p', { class: 'muted' }, `Status: ${r.status}`, label ? ' — ' : '', countdown),
          !mine && mayDecide(r.userId) && r.status === 'pending'
            ? h('div', { class: 'row' }, h('button', { class: 'primary', onclick: decide(true) }, `Approve for ${r.name}`), h('button', { class: 'danger', onclick: decide(false) }, 'Deny'))
            : null,
          err,
        ),
      );
    }
    el.hidden = shown === 0;
    badge.textContent = waiting ? `${waiting} waiting` : '';
    badge.hidden = waiting === 0;
    document.title = waiting ? `(${waiting}) ${baseTitle}` : baseTitle;
    tick();
  };
  const tick = () => {
    for (const c of countdowns) c.el.textContent = `${c.label} ${mmss(c.expiresAt - Date.now())}`;
  };
  return { el, soundToggle, refresh, tick };
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
