import { AGE_BAND_URL, CASE_RESOURCE_TYPES, type CaseResourceType } from '../../../shared/src/fhir.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { sectionName } from './alerts.ts';
import { CaseMore, type ReadTypes } from './clinical/case-more.ts';
import { ageFrom, conceptText, FLAG_TEXT, formatWhen, observationRows, whenOf, type ObservationRow } from './clinical/format.ts';
import { DEFAULT_TREND_RANGE, newestFirst, roomOrder, summaryModel, TREND_RANGES, type SectionKey, type SummaryItem, type SummarySection } from './clinical/summary-model.ts';
import { vitalsChart, type Trend } from './clinical/vitals-chart.ts';
import { DEFAULT_YEAR_RANGE, YEAR_TREND_RANGES } from './clinical/year-trend.ts';
import { clear, h } from './dom.ts';
import { plainCode } from './plain-errors.ts';
import { announce } from './announcer.ts';

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
  // Newest first; ties (a de-identified year) keep the server's newest-first order.
  for (const r of [...rows].sort((a, b) => (b.when?.ms ?? 0) - (a.when?.ms ?? 0))) byPanel.set(r.panel, [...(byPanel.get(r.panel) ?? []), r]);
  const table = h('table', { class: 'labs', 'data-testid': testid },
    h('caption', { class: 'sr-only' }, testid === 'labs' ? 'Laboratory results, newest first, grouped by panel' : 'Vital-sign readings, newest first'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Test'), h('th', { scope: 'col' }, 'Result'), h('th', { scope: 'col' }, 'Range'), h('th', { scope: 'col' }, 'When'))));
  for (const [panel, list] of byPanel) {
    const tbody = h('tbody', {}, h('tr', { class: 'panel-row' }, h('th', { colspan: 4, scope: 'rowgroup' }, panel)));
    for (const r of list) {
      const abnormal = r.flag && r.flag !== 'N';
      tbody.append(h('tr', { class: abnormal ? `abnormal flag-${r.flag}` : '' },
        h('td', r.fullName !== r.name ? { title: r.fullName } : {}, r.name),
        h('td', { class: 'result' }, r.value, abnormal ? h('span', { class: 'flag', title: FLAG_TEXT[r.flag] }, ` ${r.flag}`, h('span', { class: 'sr-only' }, ` (${FLAG_TEXT[r.flag]})`)) : null),
        h('td', { class: 'muted' }, r.range ? `${r.range}${r.unit && !r.range.includes(r.unit) ? ` ${r.unit}` : ''}` : '—'),
        h('td', { class: 'muted when' }, formatWhen(r.when))));
    }
    table.append(tbody);
  }
  return table;
}

/** One summary item: title (loud when it must not be missed), status marks, facts, and lines (reactions, results). */
function itemView(it: SummaryItem, key: SectionKey): HTMLElement {
  const loud = it.alert && key === 'allergies';
  return h('li', { class: loud ? 'allergy-high' : '' },
    loud ? h('strong', {}, '⚠ ', it.title, ' — high criticality') : h('strong', {}, it.title),
    ...it.marks.filter((m) => !(loud && m === 'high criticality')).map((m) => h('span', { class: `mark mark-${m.replace(/\s+/g, '-')}` }, m)),
    it.detail.length ? h('span', { class: 'muted' }, ` — ${it.detail.join(' · ')}`) : null,
    it.lines.length ? h('ul', { class: 'clin-sub' }, ...it.lines.map((l) => h('li', {}, l))) : null);
}

/** A section from the summary model: "Not on file", its lists, and "10 of 32 — show all" when the room carries part of it. */
function sectionView(sec: SummarySection, more: CaseMore, extra: (Node | null)[] = []): HTMLElement {
  const loading = sec.types.some((t) => more.isLoading(t));
  const count = sec.total > sec.loaded
    ? h('p', { class: 'more', 'data-testid': `${sec.key}-more` }, `${sec.loaded} of ${sec.total} — `,
        h('button', { class: 'linkish', disabled: loading, onclick: () => void more.showAll(sec.types) }, loading ? 'loading…' : 'show all'))
    : null;
  return section(sec.title, sec.key,
    sec.empty ? h('p', { class: 'muted not-on-file' }, 'Not on file') : null,
    ...sec.groups.map((g) => h('div', { class: 'clin-group' },
      g.label ? h('h4', {}, g.label) : null,
      h('ul', { class: 'clin-list' }, ...g.items.map((it) => itemView(it, sec.key))))),
    ...extra,
    count);
}

/**
 * The clinical summary: exactly the patient data the server sent this participant (plus what
 * they asked to load), laid out like an EHR summary — banner, allergies and medications pinned
 * at the top, problems, vital-sign trends with a range choice, labs newest first with short
 * names, ranges and flags, then encounters, immunizations, reports, procedures, imaging and
 * documents. Every readable section shows, "Not on file" when the record has none.
 */
export function casePanel(
  session: ClinicSession,
  canBreakGlass: boolean,
  opts: { imagingViewerUrl?: string | null; readTypes?: ReadTypes | null; noCaseText?: () => string } = {},
): { el: HTMLElement; refresh: () => void } {
  const head = h('div', { class: 'banner-slot' });
  const body = h('div', { class: 'stack' });
  const chart = vitalsChart();
  let trend: Trend = { basis: 'clock', range: DEFAULT_TREND_RANGE };
  let vitalRows: ObservationRow[] = [];
  const redraw = () => requestAnimationFrame(() => chart.draw(vitalRows, trend));
  const rangeGroup = h('div', { class: 'row trend-range', role: 'group', 'aria-label': 'Trend range', 'data-testid': 'trend-range' });
  /** The range buttons of a basis: hours and days on the clock; whole years for a de-identified view (it has nothing finer). */
  const rangeButtons = (basis: Trend['basis']) => {
    const choices: { trend: Trend; label: string; title?: string }[] = basis === 'year'
      ? YEAR_TREND_RANGES.map((r) => ({ trend: { basis, range: r.value }, label: r.label, title: r.title }))
      : TREND_RANGES.map((r) => ({ trend: { basis, range: r.value }, label: r.label }));
    trend = basis === 'year' ? { basis, range: DEFAULT_YEAR_RANGE } : { basis, range: DEFAULT_TREND_RANGE };
    const buttons = choices.map((c) =>
      h('button', { type: 'button', class: 'range', 'data-range': c.trend.range, title: c.title, 'aria-pressed': String(c.trend.range === trend.range), onclick: () => {
        trend = c.trend;
        buttons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset['range'] === trend.range)));
        redraw();
      } }, c.label));
    clear(rangeGroup);
    rangeGroup.append(...buttons);
  };
  rangeButtons('clock');
  const vitals = section('Vital signs', 'vitals', rangeGroup, chart.el);
  const dialog = breakGlassDialog(session);
  const bgButton = canBreakGlass ? h('button', { onclick: () => dialog.el.showModal(), 'data-testid': 'break-glass', class: 'quiet' }, 'Emergency access…') : null;
  const el = h(
    'section',
    { class: 'card case', 'aria-labelledby': 'case-h' },
    h('h2', { id: 'case-h' }, 'Patient summary'),
    head,
    body,
    bgButton,
    dialog.el,
  );
  let signature = '';
  let moreVersion = 0;
  let caseKey = '';
  // Without an HTTP reader (tests of the panel alone), nothing is loaded on demand and only what the room sent counts.
  const more = new CaseMore(opts.readTypes ?? (() => Promise.reject(Object.assign(new Error('offline'), { code: 'UNAVAILABLE' }))), () => {
    moreVersion++;
    refresh();
  });
  const refresh = () => {
    // Rebuild only when the case data changed (this runs on every state patch, poses included).
    const noCase = opts.noCaseText?.() ?? 'This room has no patient case.';
    const parts: string[] = [session.state.info.caseId, session.state.info.title, String(moreVersion), noCase];
    session.state.caseEntries.forEach((e, k) => parts.push(`${k}:${e.variant}:${e.json.length}:${e.ofType}`));
    const sig = parts.join('|');
    if (sig === signature) return;
    signature = sig;
    const visibleNow = new Set<string>();
    session.state.caseEntries.forEach((e) => visibleNow.add(`${e.resourceType}:${e.variant}`));
    const key = `${session.state.info.caseId}|${[...visibleNow].sort().join(',')}`;
    if (key !== caseKey) {
      caseKey = key; // a new case, or access changed: what was read on demand is read again
      more.reset();
    }
    clear(head);
    clear(body);
    if (bgButton) bgButton.hidden = !session.state.info.caseId;
    if (!session.state.info.caseId) {
      body.append(h('p', { class: 'muted', 'data-testid': 'no-case' }, noCase));
      return;
    }
    const roomSent = session.caseResources() as unknown as Json[];
    const totals: Record<string, number> = {};
    session.state.caseEntries.forEach((e) => void (totals[e.resourceType] = Math.max(totals[e.resourceType] ?? 0, e.ofType)));
    const sentTypes = new Set(roomSent.map((r) => String(r['resourceType'])));
    // What was read in full replaces the room's part of that type.
    const complete = CASE_RESOURCE_TYPES.filter((t) => more.complete(t));
    const all = [...roomSent.filter((r) => !complete.includes(r['resourceType'] as CaseResourceType)), ...complete.flatMap((t) => more.complete(t)! as unknown as Json[])];
    const readable = (t: CaseResourceType) => sentTypes.has(t) || more.readable(t) === true;
    const of = (t: CaseResourceType) => all.filter((r) => r['resourceType'] === t);
    const hiddenTypes = new Set(CASE_RESOURCE_TYPES.filter((t) => !sentTypes.has(t) && more.readable(t) !== true));
    head.append(banner(of('Patient')[0], session.deidentified, session.state.info.title, new Set(CASE_RESOURCE_TYPES.filter((t) => !hiddenTypes.has(t)))));
    dialog.offer(hiddenTypes);
    if (bgButton) bgButton.hidden = hiddenTypes.size === 0;

    const sections = new Map(summaryModel(all, { readable, totals }).map((s) => [s.key, s]));
    const put = (k: SectionKey, extra: (Node | null)[] = []) => {
      const sec = sections.get(k);
      if (sec) body.append(sectionView(sec, more, extra));
    };
    // Pinned: allergies and medications, then the problem list.
    put('allergies');
    put('medications');
    put('problems');
    // A de-identified view dates by year alone: within a year, the room's order says which is newer (a reading that
    // arrived live sits last in the state). A type read in full over HTTP comes in that order already.
    const deidentified = session.deidentified;
    const entries: { key: string; order: number }[] = [];
    session.state.caseEntries.forEach((e) => void entries.push(e));
    const order = deidentified && !more.complete('Observation') ? roomOrder(entries) : undefined;
    const rows = newestFirst(of('Observation'), order).flatMap(observationRows);
    vitalRows = rows.filter((r) => r.category === 'vital');
    const basis: Trend['basis'] = deidentified ? 'year' : 'clock';
    if (basis !== trend.basis) rangeButtons(basis);
    const labRows = rows.filter((r) => r.category !== 'vital');
    if (vitalRows.length) {
      body.append(vitals);
      redraw();
      body.append(h('details', {}, h('summary', {}, `All vital-sign readings (${vitalRows.length})`), labsTable(vitalRows, 'vitals-table')));
    }
    if (labRows.length) body.append(section('Labs', 'labs-section', labsTable(labRows, 'labs')));
    put('reports');
    put('encounters');
    put('immunizations');
    put('procedures');
    put('imaging', newestFirst(of('ImagingStudy')).map((s) => imagingStudy(s, opts.imagingViewerUrl ?? null)));
    put('documents');
    if (more.error) body.append(h('p', { class: 'error', role: 'alert' }, more.error));
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

/** Emergency access: only the kinds of information the participant does not already hold are offered (`offer`). */
function breakGlassDialog(session: ClinicSession): { el: HTMLDialogElement; offer(types: ReadonlySet<string>): void } {
  const error = h('p', { class: 'error', role: 'alert' });
  const reason = h('textarea', { rows: 3, required: true, minlength: 10, maxlength: 500, id: 'bg-reason' });
  const boxes = CASE_RESOURCE_TYPES.map((t) => h('label', { class: 'row', 'data-type': t }, h('input', { type: 'checkbox', value: t }), sectionName(t)));
  const offer = (types: ReadonlySet<string>) => {
    for (const b of boxes) {
      b.hidden = !types.has(b.dataset['type']!);
      if (b.hidden) b.querySelector('input')!.checked = false;
    }
  };
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
            reason.value = '';
            dialog.close();
            announce('Request sent — waiting for the host.');
          } else error.textContent = plainCode(reply.error.code, reply.error.message);
        },
      }, 'Request'),
      h('button', { onclick: () => dialog.close() }, 'Cancel'),
    ),
  );
  return { el: dialog, offer };
}
