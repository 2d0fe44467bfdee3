import type { TicketResponse } from '../../../../shared/src/http.ts';
import { h } from '../dom.ts';

/**
 * What a joiner is told before entering a room that may be recorded; null: nothing to tell. With voice on
 * (`voice`: the ticket carries a voice connection), a recording also keeps what is said (LiveKit egress), and
 * spoken words are not de-identified: the joiner is told so.
 */
export function consentText(recording: TicketResponse['recording'], voice = false): string | null {
  if (!recording.allowed) return null;
  const what = voice
    ? 'the scene, annotations, pointers, who is here, avatar movement and what is said on voice (no patient record is copied, but spoken words are kept as said)'
    : 'the scene, annotations, pointers, who is here and avatar movement (no patient record is copied)';
  return recording.active
    ? `This room is being recorded now: ${what}. The recording may be replayed for teaching.`
    : `The host may record this room for teaching: ${what}. You will see when it records.`;
}

/** Asked once before joining a room that may be recorded: resolves whether the user chose to enter. */
export function askConsent(root: HTMLElement, text: string): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (yes: boolean) => {
      card.remove();
      resolve(yes);
    };
    const card = h('div', { class: 'card', role: 'alertdialog', 'aria-labelledby': 'consent-title', id: 'recording-consent' },
      h('h2', { id: 'consent-title' }, 'Recording'),
      h('p', {}, text),
      h('div', { class: 'row' },
        h('button', { id: 'consent-join', onclick: () => done(true) }, 'Join'),
        h('button', { class: 'secondary', onclick: () => done(false) }, 'Back')));
    root.append(card);
  });
}
