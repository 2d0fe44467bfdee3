import { AGE_BAND_URL, type FhirResource } from '../../../shared/src/fhir.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { clear, h } from './dom.ts';

type Json = Record<string, unknown>;
const concept = (v: unknown): string => {
  const c = v as { coding?: { display?: string; code?: string }[]; text?: string } | undefined;
  return c?.text ?? c?.coding?.map((x) => x.display ?? x.code).join(', ') ?? '';
};
const quantity = (v: unknown) => {
  const q = v as { value?: number; unit?: string } | undefined;
  return q?.value !== undefined ? `${q.value} ${q.unit ?? ''}`.trim() : '';
};

function describe(r: FhirResource): string {
  const j = r as Json;
  switch (r.resourceType) {
    case 'Observation':
      return `${concept(j['code'])}: ${quantity(j['valueQuantity']) || concept(j['valueCodeableConcept'])} ${String(j['effectiveDateTime'] ?? '')}`;
    case 'Condition':
      return `${concept(j['code'])} ${j['onsetDateTime'] ? `since ${String(j['onsetDateTime'])}` : ''}`;
    case 'AllergyIntolerance':
      return `${concept(j['code'])}${j['criticality'] ? ` (${String(j['criticality'])})` : ''}`;
    case 'MedicationStatement':
      return `${concept(j['medicationCodeableConcept'])} — ${String(j['status'] ?? '')}`;
    case 'Procedure':
      return `${concept(j['code'])} ${String(j['performedDateTime'] ?? '')}`;
    case 'ImagingStudy':
      return `${(j['modality'] as { code?: string }[] | undefined)?.map((m) => m.code).join('/') ?? ''} study, ${String(j['numberOfInstances'] ?? '?')} images ${String(j['started'] ?? '')}`;
    case 'DocumentReference':
      return `${concept(j['type'])} ${String(j['date'] ?? '')}`;
    default:
      return r.resourceType;
  }
}

function patientSummary(p: FhirResource | undefined, deidentified: boolean): HTMLElement {
  if (!p) return h('p', { class: 'muted' }, 'No patient summary in your scope.');
  const j = p as Json;
  if (deidentified) {
    const band = (j['extension'] as { url: string; valueString: string }[] | undefined)?.find((e) => e.url === AGE_BAND_URL)?.valueString;
    return h('p', { 'data-testid': 'patient' }, `Patient: ${String(j['gender'] ?? 'unknown')}, age ${band ?? 'unknown'}`, h('span', { class: 'badge deid' }, 'de-identified'));
  }
  const name = (j['name'] as { text?: string; family?: string; given?: string[] }[] | undefined)?.[0];
  const display = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  const mrn = (j['identifier'] as { value?: string }[] | undefined)?.[0]?.value;
  return h('p', { 'data-testid': 'patient' }, `${display} · ${String(j['gender'] ?? '')} · born ${String(j['birthDate'] ?? '?')}${mrn ? ` · MRN ${mrn}` : ''}`, h('span', { class: 'badge id' }, 'identified'));
}

const VITALS: Record<string, { label: string; color: string }> = {
  '8867-4': { label: 'Heart rate', color: '#e5534b' },
  '59408-5': { label: 'SpO2', color: '#5aa9e6' },
  '2708-6': { label: 'SpO2', color: '#5aa9e6' },
  '8480-6': { label: 'Systolic BP', color: '#f5c542' },
};

/** Line chart of vitals over time, from Observations as the server sent them. */
function drawVitals(canvas: HTMLCanvasElement, observations: FhirResource[]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const w = (canvas.width = canvas.clientWidth || 320);
  const hgt = (canvas.height = canvas.clientHeight || 120);
  ctx.clearRect(0, 0, w, hgt);
  const series = new Map<string, { t: number; v: number }[]>();
  for (const o of observations) {
    const j = o as Json;
    const code = (j['code'] as { coding?: { code?: string }[] } | undefined)?.coding?.find((c) => c.code && VITALS[c.code])?.code;
    const v = (j['valueQuantity'] as { value?: number } | undefined)?.value;
    const t = Date.parse(String(j['effectiveDateTime'] ?? ''));
    if (!code || v === undefined || Number.isNaN(t)) continue;
    const list = series.get(code) ?? [];
    list.push({ t, v });
    series.set(code, list);
  }
  let legendY = 14;
  for (const [code, pts] of series) {
    pts.sort((a, b) => a.t - b.t);
    const ts = pts.map((p) => p.t);
    const vs = pts.map((p) => p.v);
    const [t0, t1] = [Math.min(...ts), Math.max(...ts)];
    const [v0, v1] = [Math.min(...vs) - 5, Math.max(...vs) + 5];
    ctx.strokeStyle = VITALS[code]!.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach((p, i) => {
      const x = t1 === t0 ? w / 2 : 8 + ((p.t - t0) / (t1 - t0)) * (w - 16);
      const y = hgt - 8 - ((p.v - v0) / (v1 - v0)) * (hgt - 16);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
      ctx.fillStyle = VITALS[code]!.color;
      ctx.fillRect(x - 2, y - 2, 4, 4);
    });
    ctx.stroke();
    ctx.fillText(`${VITALS[code]!.label}: ${vs[vs.length - 1]}`, 8, legendY);
    legendY += 14;
  }
  if (series.size === 0) {
    ctx.fillStyle = '#93a4b5';
    ctx.fillText('No vitals in your scope yet', 8, 16);
  }
}

const TYPES = ['Patient', 'Observation', 'Condition', 'AllergyIntolerance', 'MedicationStatement', 'Procedure', 'ImagingStudy', 'DocumentReference'] as const;

/** The patient data this participant may see, exactly as the server sent it, plus break-glass. */
export function casePanel(session: ClinicSession, canBreakGlass: boolean): { el: HTMLElement; refresh: () => void } {
  const body = h('div', { class: 'stack' });
  const canvas = h('canvas', { class: 'vitals', 'aria-label': 'Vitals chart' });
  const requests = h('div', { class: 'stack' });
  const dialog = breakGlassDialog(session);
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'case-h' },
    h('h2', { id: 'case-h' }, 'Case'),
    body,
    canvas,
    canBreakGlass ? h('button', { onclick: () => dialog.showModal(), 'data-testid': 'break-glass' }, 'Emergency access…') : null,
    requests,
    dialog,
  );
  const refresh = () => {
    clear(body);
    if (!session.state.info.caseId) {
      body.append(h('p', { class: 'muted' }, 'This room has no case.'));
      return;
    }
    const all = session.caseResources();
    body.append(patientSummary(all.find((r) => r.resourceType === 'Patient'), session.deidentified));
    for (const type of TYPES.slice(1)) {
      const list = all.filter((r) => r.resourceType === type);
      if (list.length === 0) continue;
      body.append(h('details', { open: type === 'Observation' || type === 'Condition' }, h('summary', {}, `${type} (${list.length})`), ...list.map((r) => h('div', { class: 'resource' }, describe(r)))));
    }
    drawVitals(canvas, all.filter((r) => r.resourceType === 'Observation'));
    clear(requests);
    for (const r of session.accessRequests()) {
      const mine = r.userId === session.participants().find((p) => p.sessionId === session.sessionId)?.userId;
      const isHost = session.participants().find((p) => p.sessionId === session.sessionId)?.role === 'host';
      requests.append(
        h(
          'div',
          { class: 'card', 'data-testid': 'access-request' },
          h('strong', {}, `${mine ? 'Your' : `${r.name}'s`} emergency access: ${r.resourceTypes}`),
          h('p', { class: 'muted' }, `“${r.reason}” — ${r.status}${r.status === 'approved' ? ` until ${new Date(r.expiresAt).toLocaleTimeString()}` : ''}`),
          isHost && r.status === 'pending'
            ? h('div', { class: 'row' }, h('button', { class: 'primary', onclick: () => void session.approve(r.id) }, 'Approve'), h('button', { class: 'danger', onclick: () => void session.deny(r.id) }, 'Deny'))
            : null,
        ),
      );
    }
  };
  return { el, refresh };
}

function breakGlassDialog(session: ClinicSession): HTMLDialogElement {
  const error = h('p', { class: 'error', role: 'alert' });
  const reason = h('textarea', { rows: 3, required: true, minlength: 10, 'aria-label': 'Reason' });
  const boxes = TYPES.map((t) => h('label', { class: 'row' }, h('input', { type: 'checkbox', value: t }), t));
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'bg-h' },
    h('h3', { id: 'bg-h' }, 'Emergency access'),
    h('p', { class: 'muted' }, 'Access beyond your scopes is time-limited, shown to the host and audited with your reason.'),
    ...boxes,
    h('label', {}, 'Reason (at least 10 characters)', reason),
    error,
    h(
      'div',
      { class: 'row' },
      h('button', {
        class: 'primary',
        onclick: async () => {
          const types = boxes.map((b) => b.querySelector('input')!).filter((i) => i.checked).map((i) => i.value) as (typeof TYPES)[number][];
          const reply = await session.breakGlass(types, reason.value);
          if (reply.ok) dialog.close();
          else error.textContent = reply.error.message;
        },
      }, 'Request'),
      h('button', { onclick: () => dialog.close() }, 'Cancel'),
    ),
  );
  return dialog;
}
