import type { RecordingPersonDto } from '../../../shared/src/http.ts';
import { plainMessage } from './plain-errors.ts';

export type PersonFound = RecordingPersonDto;

/** Fewer letters than this find too many people to pick from (and cost a request per keystroke). */
export const MIN_SEARCH_CHARS = 2;

/**
 * Finding a person by name, without DOM: what was typed, whom the server found for it, and whom the user
 * picked. A search waits for a pause in typing (`delayMs`) and needs MIN_SEARCH_CHARS; an answer for text
 * typed over since is dropped, so the list always belongs to what the field says. Until someone is picked
 * the text is taken as it is, as an exact user id (the server refuses one nobody has signed in with).
 */
export class PeoplePicker {
  text = '';
  found: PersonFound[] = [];
  picked: PersonFound | null = null;
  /** "Nobody … matches", or why the search failed; '' otherwise. */
  note = '';
  private asked = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The promise of the search waiting for its pause: settled when it is overtaken, too. */
  private waiting: (() => void) | null = null;

  constructor(
    private readonly search: (q: string) => Promise<PersonFound[]>,
    private readonly out: { changed(): void; picked(p: PersonFound): void },
    private readonly delayMs = 250,
  ) {}

  /** The field's text changed: search after a pause. Resolves once that search has answered (or was overtaken). */
  type(text: string): Promise<void> {
    this.text = text;
    this.picked = null;
    this.cancel();
    const q = text.trim();
    if (q.length < MIN_SEARCH_CHARS) {
      const changed = this.found.length > 0 || this.note !== '';
      this.found = [];
      this.note = '';
      if (changed) this.out.changed();
      return Promise.resolve();
    }
    const ask = ++this.asked;
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.waiting = null;
        void this.run(q, ask).finally(resolve);
      }, this.delayMs);
    });
  }

  private async run(q: string, ask: number): Promise<void> {
    let found: PersonFound[] = [];
    let note = '';
    try {
      found = await this.search(q);
      if (found.length === 0) note = `Nobody who has signed in matches “${q}”.`;
    } catch (err) {
      note = plainMessage(err);
    }
    if (ask !== this.asked) return; // typed over since: this answer is for other text
    this.found = found;
    this.note = note;
    this.out.changed();
  }

  pick(p: PersonFound): void {
    this.cancel();
    this.picked = p;
    this.text = p.name;
    this.found = [];
    this.note = '';
    this.out.picked(p);
    this.out.changed();
  }

  /** Whom the form means: the person picked, else the text as typed (an exact user id), trimmed. */
  get userId(): string {
    return this.picked?.userId ?? this.text.trim();
  }

  /** Empty again (after the person was granted or added). */
  reset(): void {
    this.cancel();
    this.text = '';
    this.found = [];
    this.picked = null;
    this.note = '';
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiting?.();
    this.waiting = null;
    this.asked++;
  }
}
