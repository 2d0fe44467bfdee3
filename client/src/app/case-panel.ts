import { AGE_BAND_URL, CASE_RESOURCE_TYPES, type CaseResourceType } from '../../../shared/src/fhir.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { sectionName } from './alerts.ts';
import { ageFrom, conceptText, dosageText, FLAG_TEXT, formatWhen, medicationName, observationRows, whenOf, type ObservationRow } from './clinical/format.ts';
import { drawVitals } from './clinical/vitals-chart.ts';
import { clear, h } from './dom.ts';
import { plainCode } from './plain-errors.ts';

type Json = Record<string, unknown>;
const SEX: Record<string, string> = { female: 'F', male: 'M', other: 'Other', unknown: 'Sex unknown' };

/** The always-visible banner: who this case is about, as far as this participant may know. */
function banner(patient: Json | undefined, deidentified: boolean, roomTitle: string, visibleTypes: Set<string>): HTMLElement {
  if (!patient) {
    const hidden = CASE_RESOURCE_TYPES.filter((t) => !visibleTypes.has(t)).map(sectionName);
    return h('div', { class: 'banner restricted', 'data-testid': 'patient' },
      h('strong', {}, `Case: ${roomTitle}`),
      h('span', {}, 'Patient identity is outside your access.'),
      hidden.length ? h('span', { class: 'muted' }, `Not shown to you: ${hidden.join(', ')}.`) : null);
  }
  const sex = SEX[String(patient['gender'] ?? 'unknown')] ?? 'Sex unknown';
  if (deidentified) {
    const band = (patient['extension'] as { url?: string; valueString?: string }[] | undefined)?.find((e) => e?.url === AGE_BAND_URL)?.valueString;
    return h('div', { class: 'banner deid', 'data-testid': 'patient' },
      h('strong', {}, `De-identified patient · ${sex} · ${band ? band.replace('-', '–') : 'age unknown'}`),
      h('span', { class: 'badge deid' }, 'de-identified'));
  }
  const name = (patient['name'] as { text?: string; family?: string; given?: string[] }[] | undefined)?.[0];
  const display = name?.text ?? ([...(name?.given ?? []), name?.family].filter(Boolean).join(' ') || 'Name not recorded');
  const ids = (patient['identifier'] as { value?: string; type?: { coding?: { code?: string }[] }; system?: string }[] | undefined) ?? [];
  const mrn = (ids.find((i) => i?.type?.coding?.some((c) => c.code === 'MR')) ?? ids.find((i) => !/ssn|social/i.test(String(i?.system ?? ''))))?.value;
  const age = ageFrom(patient['birthDate']);
  const born = formatWhen(whenOf({ date: patient['birthDate'] }));
  return h('div', { class: 'banner identified', 'data-testid': 'patient' },
    h('strong', { class: 'patient-name' }, display),
    h('span', {}, [age !== null ? `${age} y` : null, sex, born ? `born ${born}` : null, mrn ? `MRN ${mrn}` : null].filter(Boolean).join(' · ')),
    h('span', { class: 'badge id' }, 'identified'));
}

function section(title: string, testid: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: 'clin-section', 'aria-label': title, 'data-testid': testid }, h('h3', {}, title), ...children);
}

function labsTable(rows: ObservationRow[], testid: string): HTMLElement {
  const byPanel = new Map<string, ObservationRow[]>();
  for (const r of [...rows].sort((a, b) => (b.when?.ms ?? 0) - (a.when?.ms ?? 0))) byPanel.set(r.panel, [...(byPanel.get(r.panel) ?? []), r]);
  const table = h('table', { class: 'labs', 'data-testid': testid },
    h('caption', { class: 'sr-only' }, testid === 'labs' ? 'Laboratory results, newest first, grouped by panel' : 'Vital-sign readings, newest first'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Test'), h('th', { scope: 'col' }, 'Result'), h('th', { scope: 'col' }, 'Range'), h('th', { scope: 'col' }, 'When'))));
  for (const [panel, list] of byPanel) {
    const tbody = h('tbody', {}, h('tr', { class: 'panel-row' }, h('th', { colspan: 4, scope: 'rowgroup' }, panel)));
    for (const r of list) {
      const abnormal = r.flag && r.flag !== 'N';
      tbody.append(h('tr', { class: abnormal ? `abnormal flag-${r.flag}` : '' },
        h('td', {}, r.name),
        h('td', { class: 'result' }, r.value, abnormal ? h('span', { class: 'flag', title: FLAG_TEXT[r.flag] }, ` ${r.flag}`, h('span', { class: 'sr-only' }, ` (${FLAG_TEXT[r.flag]})`)) : null),
        h('td', { class: 'muted' }, r.range ? `${r.range}${r.unit && !r.range.includes(r.unit) ? ` ${r.unit}` : ''}` : '—'),
        h('td', { class: 'muted when' }, formatWhen(r.when))));
    }
    table.append(tbody);
  }
  return table;
}

const byNewest = (a: Json, b: Json) => (whenOf(b)?.ms ?? 0) - (whenOf(a)?.ms ?? 0);

/**
 * The clinical summary: exactly the patient data the server sent this participant, laid out
 * like an EHR summary — banner, allergies and active medications pinned at the top, problems,
 * vital-sign trends, labs newest first with ranges and flags, procedures, imaging, documents.
 */
export function casePanel(session: ClinicSession, canBreakGlass: boolean, opts: { imagingViewerUrl?: string | null } = {}): { el: HTMLElement; refresh: () => void } {
  const head = h('div', { class: 'banner-slot' });
  const body = h('div', { class: 'stack' });
  const canvas = h('canvas', { class: 'vitals', role: 'img', 'aria-label': 'Vital signs chart' });
  const vitals = section('Vital signs', 'vitals', canvas);
  const dialog = breakGlassDialog(session);
  const bgButton = canBreakGlass ? h('button', { onclick: () => dialog.showModal(), 'data-testid': 'break-glass', class: 'quiet' }, 'Emergency access…') : null;
  const el = h(
    'section',
    { class: 'card case', 'aria-labelledby': 'case-h' },
    h('h2', { id: 'case-h' }, 'Patient summary'),
    head,
    body,
    bgButton,
    dialog,
  );
  let signature = '';
  const refresh = () => {
    // Rebuild only when the case data changed (this runs on every state patch, poses included).
    const parts: string[] = [session.state.info.caseId, session.state.info.title];
    session.state.caseEntries.forEach((e, k) => parts.push(`${k}:${e.variant}:${e.json.length}`));
    const sig = parts.join('|');
    if (sig === signature) return;
    signature = sig;
    clear(head);
    clear(body);
    if (bgButton) bgButton.hidden = !session.state.info.caseId;
    if (!session.state.info.caseId) {
      body.append(h('p', { class: 'muted' }, 'This room has no patient case.'));
      return;
    }
    const all = session.caseResources() as unknown as Json[];
    const of = (t: CaseResourceType) => all.filter((r) => r['resourceType'] === t);
    const visible = new Set(all.map((r) => String(r['resourceType'])));
    head.append(banner(of('Patient')[0], session.deidentified, session.state.info.title, visible));

    // Pinned: allergies (high criticality first and loud) and active medications.
    const allergies = of('AllergyIntolerance').sort((a, b) => Number(b['criticality'] === 'high') - Number(a['criticality'] === 'high'));
    if (visible.has('AllergyIntolerance') || allergies.length) {
      body.append(section('Allergies', 'allergies', allergies.length
        ? h('ul', { class: 'clin-list' }, ...allergies.map((a) => {
            const high = a['criticality'] === 'high';
            const reaction = (a['reaction'] as { manifestation?: unknown[] }[] | undefined)?.[0]?.manifestation?.map(conceptText).filter(Boolean).join(', ');
            return h('li', { class: high ? 'allergy-high' : '' }, high ? h('strong', {}, '⚠ ', conceptText(a['code']) || 'Allergy', ' — high criticality') : conceptText(a['code']) || 'Allergy', reaction ? h('span', { class: 'muted' }, ` (${reaction})`) : null);
          }))
        : h('p', { class: 'muted' }, 'No allergies recorded.')));
    }
    const meds = of('MedicationStatement').filter((m) => !['stopped', 'completed', 'entered-in-error', 'not-taken'].includes(String(m['status'] ?? 'active'))).sort(byNewest);
    if (visible.has('MedicationStatement')) {
      body.append(section('Active medications', 'medications', meds.length
        ? h('ul', { class: 'clin-list' }, ...meds.map((m) => h('li', {}, h('strong', {}, medicationName(m)), dosageText(m) ? h('span', { class: 'muted' }, ` — ${dosageText(m)}`) : null)))
        : h('p', { class: 'muted' }, 'No active medications.')));
    }
    const problems = of('Condition').sort(byNewest);
    if (problems.length) {
      body.append(section('Problems', 'problems', h('ul', { class: 'clin-list' }, ...problems.map((c) => {
        const status = conceptText(c['clinicalStatus']);
        const since = formatWhen(whenOf(c));
        return h('li', {}, conceptText(c['code']) || 'Problem', h('span', { class: 'muted' }, [status && status !== 'active' ? ` ${status}` : '', since ? ` · since ${since}` : ''].join('')));
      }))));
    }
    const rows = of('Observation').flatMap(observationRows);
    const vitalRows = rows.filter((r) => r.category === 'vital');
    const labRows = rows.filter((r) => r.category !== 'vital');
    if (vitalRows.length) {
      body.append(vitals);
      requestAnimationFrame(() => canvas.setAttribute('aria-label', drawVitals(canvas, vitalRows)));
      body.append(h('details', {}, h('summary', {}, `All vital-sign readings (${vitalRows.length})`), labsTable(vitalRows, 'vitals-table')));
    }
    if (labRows.length) body.append(section('Labs', 'labs-section', labsTable(labRows, 'labs')));
    const procedures = of('Procedure').sort(byNewest);
    if (procedures.length) {
      body.append(section('Procedures', 'procedures', h('ul', { class: 'clin-list' }, ...procedures.map((p) => h('li', {}, conceptText(p['code']) || 'Procedure', h('span', { class: 'muted' }, ` · ${formatWhen(whenOf(p)) || 'date unknown'}`))))));
    }
    const imaging = of('ImagingStudy').sort(byNewest);
    if (imaging.length) body.append(section('Imaging', 'imaging', ...imaging.map((s) => imagingStudy(s, opts.imagingViewerUrl ?? null))));
    const docs = of('DocumentReference').sort(byNewest);
    if (docs.length) {
      body.append(section('Documents', 'documents', h('ul', { class: 'clin-list' }, ...docs.map((d) => h('li', {}, conceptText(d['type']) || String(d['description'] ?? 'Document'), h('span', { class: 'muted' }, ` · ${formatWhen(whenOf(d))}`))))));
    }
    if (all.length === 0) body.append(h('p', { class: 'muted' }, 'Nothing from this case is in your access.'));
  };
  return { el, refresh };
}

function imagingStudy(s: Json, viewerUrl: string | null): HTMLElement {
  const modalities = ((s['modality'] as { code?: string }[] | undefined) ?? []).map((m) => m?.code).filter(Boolean).join('/') || 'Imaging';
  const series = (s['series'] as Json[] | undefined) ?? [];
  const uid = (s['identifier'] as { value?: string }[] | undefined)?.find((i) => String(i?.value ?? '').startsWith('urn:oid:'))?.value?.slice(8);
  const link = viewerUrl && uid ? viewerUrl.replace('{studyUid}', encodeURIComponent(uid)) : null;
  return h('div', { class: 'study' },
    h('strong', {}, `${modalities} study`), ' ', h('span', { class: 'muted' }, `${formatWhen(whenOf(s)) || 'date unknown'} · ${String(s['numberOfSeries'] ?? series.length)} series, ${String(s['numberOfInstances'] ?? '?')} images`),
    s['description'] ? h('div', {}, String(s['description'])) : null,
    series.length ? h('ul', { class: 'clin-list' }, ...series.map((se, i) => h('li', {}, `Series ${String(se['number'] ?? i + 1)}: ${conceptText(se['bodySite']) || ''} ${(se['modality'] as { code?: string } | undefined)?.code ?? ''} · ${String(se['numberOfInstances'] ?? '?')} images${se['description'] ? ` · ${String(se['description'])}` : ''}`))) : null,
    link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, 'Open in the image viewer') : null);
}

function breakGlassDialog(session: ClinicSession): HTMLDialogElement {
  const error = h('p', { class: 'error', role: 'alert' });
  const reason = h('textarea', { rows: 3, required: true, minlength: 10, maxlength: 500, id: 'bg-reason' });
  const boxes = CASE_RESOURCE_TYPES.map((t) => h('label', { class: 'row' }, h('input', { type: 'checkbox', value: t }), sectionName(t)));
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'bg-h' },
    h('h3', { id: 'bg-h' }, 'Emergency access'),
    h('p', { class: 'muted' }, 'Access beyond your permissions is time-limited, shown to the host and audited with your reason.'),
    h('fieldset', {}, h('legend', {}, 'What do you need to see?'), ...boxes),
    h('label', { for: 'bg-reason' }, 'Reason (at least 10 characters)'),
    reason,
    error,
    h(
      'div',
      { class: 'row' },
      h('button', {
        class: 'primary',
        onclick: async () => {
          const types = boxes.map((b) => b.querySelector('input')!).filter((i) => i.checked).map((i) => i.value) as CaseResourceType[];
          if (types.length === 0) return void (error.textContent = 'Tick at least one kind of information.');
          const why = reason.value.trim();
          if (why.length < 10) return void (error.textContent = `Please give a reason of at least 10 characters (you wrote ${why.length}).`);
          const reply = await session.breakGlass(types, why);
          if (reply.ok) {
            error.textContent = '';
            dialog.close();
          } else error.textContent = plainCode(reply.error.code, reply.error.message);
        },
      }, 'Request'),
      h('button', { onclick: () => dialog.close() }, 'Cancel'),
    ),
  );
  return dialog;
}
