import type { CdsCardView } from '../../../../shared/src/cds.ts';
import type { FhirResource } from '../../../../shared/src/fhir.ts';
import type { CdsController } from '../cds-controller.ts';
import { conceptText, formatWhen, medicationName, whenOf } from '../clinical/format.ts';
import { clear, h } from '../dom.ts';

const INDICATOR_TEXT = { critical: 'Critical', warning: 'Warning', info: 'Info' } as const;

/** Where a cited resource is shown in the case panel (its section's test id). */
const SECTION_OF: Record<string, string> = { Observation: 'labs-section', MedicationStatement: 'medications', MedicationRequest: 'medications', AllergyIntolerance: 'allergies', Condition: 'problems' };

/**
 * The decision-support section of the case panel: my cards (indicator,
 * summary, source, why, the resources it rests on as links to where they are
 * shown, suggestions — never executed), and the cards shared with the room.
 */
export function cdsPanel(ctl: CdsController, entry: (key: string) => { resource: FhirResource } | null): { el: HTMLElement; render: () => void } {
  const list = h('div', { class: 'stack' });
  const shared = h('ul', { class: 'clin-list', 'data-testid': 'cds-shared' });
  const el = h(
    'section',
    { class: 'clin-section cds', 'aria-label': 'Decision support', 'data-testid': 'cds' },
    h('h3', {}, 'Decision support'),
    h('p', { class: 'muted small' }, 'Rules and services over what you may see — prompts to review, not orders. Nothing here is executed.'),
    list,
    shared,
  );
  const openForms = new Set<string>();

  const sourceLink = (key: string) => {
    const e = entry(key);
    if (!e) return null;
    const r = e.resource as Record<string, unknown>;
    const label =
      r['resourceType'] === 'Observation'
        ? `${conceptText(r['code'])} ${String((r['valueQuantity'] as { value?: number } | undefined)?.value ?? '')}`.trim()
        : r['resourceType'] === 'AllergyIntolerance'
          ? `Allergy: ${conceptText(r['code'])}`
          : String(r['resourceType']).startsWith('Medication')
            ? medicationName(r)
            : conceptText(r['code']) || String(r['resourceType']);
    const when = formatWhen(whenOf(r));
    const section = SECTION_OF[String(r['resourceType'])];
    return h('li', {}, h('a', {
      href: '#',
      'data-entry': key,
      onclick: (ev: Event) => {
        ev.preventDefault();
        document.querySelector(`[data-testid="${section}"]`)?.scrollIntoView({ block: 'nearest' });
      },
    }, label), when ? h('span', { class: 'muted' }, ` · ${when}`) : null);
  };

  const card = (c: CdsCardView) => {
    const error = ctl.errors.get(c.id);
    const reason = h('select', { 'aria-label': 'Reason for dismissing' }, h('option', { value: '' }, 'Choose a reason…'), ...c.overrideReasons.map((r) => h('option', { value: r.code }, r.display)));
    const comment = h('input', { type: 'text', maxlength: 500, placeholder: 'Or say why', 'aria-label': 'Comment' });
    const form = openForms.has(c.id)
      ? h('div', { class: 'row', 'data-testid': 'cds-dismiss-form' }, reason, comment, h('button', { onclick: () => void ctl.dismiss(c.id, reason.value, comment.value).then(() => openForms.delete(c.id)) }, 'Dismiss card'))
      : null;
    return h(
      'article',
      { class: `cds-card ind-${c.indicator}`, 'data-testid': 'cds-card', 'data-indicator': c.indicator, 'aria-label': `${INDICATOR_TEXT[c.indicator]}: ${c.summary}` },
      h('div', { class: 'row' }, h('span', { class: `badge ind-${c.indicator}` }, INDICATOR_TEXT[c.indicator]), h('strong', { class: 'cds-summary' }, c.summary)),
      h('div', { class: 'muted small' }, `Source: ${c.source.label}`, c.source.url ? h('span', {}, ' · ', h('a', { href: c.source.url, target: '_blank', rel: 'noopener noreferrer' }, 'about')) : null),
      c.detail ? h('p', { class: 'cds-detail' }, c.detail) : null,
      c.sources.length ? h('div', {}, h('span', { class: 'muted small' }, 'Based on:'), h('ul', { class: 'clin-list cds-sources' }, ...c.sources.map(sourceLink))) : null,
      c.suggestions.length ? h('div', {}, h('span', { class: 'muted small' }, 'Suggestions (shown, not executed):'), h('ul', { class: 'clin-list' }, ...c.suggestions.map((s) => h('li', {}, s.label)))) : null,
      c.links.length ? h('ul', { class: 'clin-list' }, ...c.links.map((l) => h('li', {}, h('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer' }, l.label)))) : null,
      ctl.canAct
        ? h('div', { class: 'row' },
            h('button', { 'data-testid': 'cds-share', disabled: ctl.sharedByMe.has(c.id), onclick: () => void ctl.share(c.id) }, ctl.sharedByMe.has(c.id) ? 'Shared' : 'Share with room'),
            h('button', { onclick: () => void ctl.accept(c) }, 'Accept'),
            h('button', { 'data-testid': 'cds-dismiss', onclick: () => { openForms.add(c.id); render(); } }, 'Dismiss…'))
        : null,
      form,
      error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    );
  };

  let signature = '';
  const render = () => {
    const cards = ctl.cards;
    const sig = JSON.stringify([cards.map((c) => c.id), ctl.shared.length, [...ctl.errors], [...ctl.sharedByMe], [...openForms]]);
    if (sig === signature) return;
    signature = sig;
    clear(list);
    clear(shared);
    if (cards.length === 0) list.append(h('p', { class: 'muted' }, 'No cards for what you can see.'));
    for (const c of cards) list.append(card(c));
    for (const s of ctl.shared) {
      shared.append(
        s.card
          ? h('li', { 'data-testid': 'cds-shared-card' }, h('span', { class: `badge ind-${s.indicator}` }, INDICATOR_TEXT[s.indicator]), ` ${s.by.name} shared: `, h('strong', {}, s.card.summary), s.card.detail ? h('p', { class: 'cds-detail' }, s.card.detail) : null)
          : h('li', { 'data-testid': 'cds-shared-withheld', class: 'muted' }, `${s.by.name} shared a decision-support card that is outside your access.`),
      );
    }
  };
  return { el, render };
}
