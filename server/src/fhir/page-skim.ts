/** What following a searchset page needs from it, or why it cannot be followed. */
export type PageSummary = { entries: number; next: string | null } | 'not-json' | 'not-bundle';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const BOM = [0xef, 0xbb, 0xbf];
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isOpen = (b: number) => b === 0x7b || b === 0x5b; // { [
const isClose = (b: number) => b === 0x7d || b === 0x5d; // } ]

/** Longest top-level key or resourceType value kept (longer ones are none of ours), and the most bytes of `link` kept. */
const MAX_NAME = 64;
const MAX_LINK = 256 * 1024;

/**
 * Follows a FHIR page (a Bundle) as its bytes arrive, without parsing it: the
 * top-level `resourceType`, how many elements the top-level `entry` array has,
 * and the top-level `link` array (the only part parsed, and only if it is
 * small) for the `next` page. A page of any size costs the event loop a pass
 * over bytes it is reading anyway — no string, no objects; the import worker
 * parses the page once, later, and refuses it then if it is not valid JSON
 * (this pass checks the nesting, strings and the top level only). Where a key
 * repeats, the last one counts, as with JSON.parse.
 */
export class PageSkimmer {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  /** Bytes of a leading UTF-8 byte order mark seen (it is skipped, as TextDecoder does). */
  private bom = 0;
  private seen = 0;
  private ended = false;
  private broken = false;
  /** At depth 1: true while a key is expected (after `{` or `,`), false in a value. */
  private expectKey = false;
  /** The string being read is a top-level key, or the top-level resourceType value. */
  private capture: 'key' | 'resourceType' | null = null;
  private text: number[] = [];
  private key = '';
  private resourceType: string | null = null;
  /** Inside the top-level `entry` array's own level (depth 2): counting its elements. */
  private entries = 0;
  private inEntry = false;
  private entryExpectsElement = false;
  private link: number[] | null = null;
  private linkTooLong = false;
  private inLink = false;

  feed(bytes: Uint8Array): void {
    const n = bytes.length;
    let i = 0;
    while (i < n && !this.broken) {
      if (this.inString && !this.capture && !this.inLink) {
        // Most of a page is string content none of ours: find its end natively (indexOf), not byte by byte.
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        const quote = bytes.indexOf(QUOTE, i);
        const end = quote === -1 ? n : quote;
        let backslashes = 0;
        while (end - 1 - backslashes >= i && bytes[end - 1 - backslashes] === BACKSLASH) backslashes++;
        if (quote === -1) {
          this.escaped = backslashes % 2 === 1;
          return;
        }
        // An odd run of backslashes escapes the quote: the string goes on.
        if (backslashes % 2 === 0) this.inString = false;
        i = quote + 1;
        continue;
      }
      this.byte(bytes[i++]!);
    }
  }

  finish(): PageSummary {
    if (this.broken || !this.ended || this.inString) return 'not-json';
    if (this.resourceType !== 'Bundle') return 'not-bundle';
    let next: string | null = null;
    if (this.link && !this.linkTooLong) {
      try {
        const links = JSON.parse(new TextDecoder().decode(new Uint8Array(this.link))) as unknown;
        const found = (Array.isArray(links) ? links : []).find((l: { relation?: unknown; url?: unknown } | null) => l?.relation === 'next' && typeof l.url === 'string') as { url: string } | undefined;
        next = found?.url ?? null;
      } catch {
        return 'not-json';
      }
    } else if (this.linkTooLong) return 'not-json';
    return { entries: this.entries, next };
  }

  private byte(b: number): void {
    if (!this.started) this.seen++;
    if (this.inLink && !this.linkTooLong) {
      if (this.link!.length >= MAX_LINK) this.linkTooLong = true;
      else this.link!.push(b);
    }
    if (this.inString) {
      if (this.capture && this.text.length <= MAX_NAME) this.text.push(b);
      if (this.escaped) this.escaped = false;
      else if (b === BACKSLASH) this.escaped = true;
      else if (b === QUOTE) this.closeString();
      return;
    }
    if (isSpace(b)) return;
    if (this.ended) return this.fail();
    if (!this.started) {
      if (this.bom < 3 && this.seen === this.bom + 1 && b === BOM[this.bom]) {
        this.bom++;
        return;
      }
      if (b !== 0x7b) return this.fail(); // the page must be an object
      this.started = true;
      this.depth = 1;
      this.expectKey = true;
      return;
    }
    if (this.inEntry && this.depth === 2 && this.entryExpectsElement && b !== 0x5d) {
      this.entries++;
      this.entryExpectsElement = false;
    }
    if (b === QUOTE) {
      this.inString = true;
      this.text = [];
      this.capture = this.depth === 1 && this.expectKey ? 'key' : this.depth === 1 && this.key === 'resourceType' ? 'resourceType' : null;
      if (this.depth === 1 && !this.expectKey && this.key !== 'resourceType') this.startValue(b);
      return;
    }
    if (isOpen(b)) {
      if (this.depth === 1) this.startValue(b);
      this.depth++;
      return;
    }
    if (isClose(b)) {
      this.depth--;
      if (this.depth < 0) return this.fail();
      if (this.depth === 1) this.endValue();
      if (this.depth === 0) this.ended = true;
      return;
    }
    if (this.depth === 1) {
      if (b === COLON) this.expectKey = false;
      else if (b === COMMA) this.expectKey = true;
      else if (this.expectKey) return this.fail();
      else this.startValue(b); // a number, true, false or null
      return;
    }
    if (this.inEntry && this.depth === 2 && b === COMMA) this.entryExpectsElement = true;
  }

  private closeString(): void {
    this.inString = false;
    if (!this.capture) return;
    let value: string | null = null;
    if (this.text.length <= MAX_NAME) {
      try {
        value = JSON.parse(`"${new TextDecoder().decode(new Uint8Array(this.text.slice(0, -1)))}"`) as string;
      } catch {
        return this.fail();
      }
    }
    if (this.capture === 'key') {
      this.key = value ?? '';
      this.expectKey = false;
    } else this.resourceType = value;
    this.capture = null;
  }

  /** A top-level value (`b` its first byte; a string only for other keys than resourceType) begins: it replaces what an earlier same key said. */
  private startValue(b: number): void {
    if (this.key === 'resourceType') this.resourceType = null;
    else if (this.key === 'entry') {
      this.entries = 0;
      this.inEntry = b === 0x5b;
      this.entryExpectsElement = this.inEntry;
    } else if (this.key === 'link' && b === 0x5b) {
      this.link = [b];
      this.linkTooLong = false;
      this.inLink = true;
    } else if (this.key === 'link') this.link = null;
  }

  private endValue(): void {
    this.inEntry = false;
    this.inLink = false;
  }

  private fail(): void {
    this.broken = true;
  }
}

/** A whole page at once. */
export function skimPage(bytes: Uint8Array): PageSummary {
  const s = new PageSkimmer();
  s.feed(bytes);
  return s.finish();
}
