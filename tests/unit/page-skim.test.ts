import { describe, expect, it } from 'vitest';
import { PageSkimmer, skimPage, type PageSummary } from '../../server/src/fhir/page-skim.ts';
import { syntheaCarroll } from '../fixtures/real-fhir.ts';

/** What JSON.parse says about the same page: the skimmer must agree on every valid document. */
function reference(text: string): PageSummary {
  let page: unknown;
  try {
    page = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return 'not-json';
  }
  if (typeof page !== 'object' || page === null || Array.isArray(page)) return 'not-json';
  const { resourceType, entry, link } = page as { resourceType?: unknown; entry?: unknown; link?: unknown };
  if (resourceType !== 'Bundle') return 'not-bundle';
  const next = (Array.isArray(link) ? link : []).find((l: { relation?: unknown; url?: unknown } | null) => l?.relation === 'next' && typeof l.url === 'string') as { url: string } | undefined;
  return { entries: Array.isArray(entry) ? entry.length : 0, next: next?.url ?? null };
}

const bytes = (text: string) => new TextEncoder().encode(text);
/** Fed whole, byte by byte, and in uneven pieces: the same answer. */
function skimAllWays(text: string): PageSummary {
  const b = bytes(text);
  const whole = skimPage(b);
  const single = new PageSkimmer();
  for (const x of b) single.feed(Uint8Array.of(x));
  const pieces = new PageSkimmer();
  for (let i = 0, n = 1; i < b.length; i += n, n = (n * 7) % 13 || 1) pieces.feed(b.subarray(i, i + n));
  expect(single.finish()).toEqual(whole);
  expect(pieces.finish()).toEqual(whole);
  return whole;
}

const next = 'https://fhir.example.org/r4/Patient/p1/$everything?_page=2';
const page = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total: 3,
  link: [
    { relation: 'self', url: 'https://fhir.example.org/r4/Patient/p1/$everything' },
    { relation: 'next', url: next },
  ],
  entry: syntheaCarroll().entry.slice(0, 3),
  ...extra,
});

describe('following a FHIR page without parsing it', () => {
  it('agrees with JSON.parse on real pages, in any key order and however the bytes arrive', () => {
    const p = page();
    expect(skimAllWays(JSON.stringify(p))).toEqual({ entries: 3, next });
    expect(skimAllWays(JSON.stringify(p, null, 2))).toEqual({ entries: 3, next });
    const { entry, ...rest } = p;
    expect(skimAllWays(JSON.stringify({ entry, ...rest }))).toEqual({ entries: 3, next });
    expect(skimAllWays(JSON.stringify({ ...rest, link: [] }))).toEqual({ entries: 0, next: null });
    expect(skimAllWays(`\uFEFF${JSON.stringify(p)}`)).toEqual({ entries: 3, next });
    const big = JSON.stringify({ ...p, entry: syntheaCarroll().entry });
    expect(skimPage(bytes(big))).toEqual(reference(big));
  });

  it('is not fooled by strings, nesting, escapes or repeated keys', () => {
    const tricky: unknown[] = [
      page({ entry: [{ resource: { resourceType: 'Observation', note: [{ text: '"entry": [1,2,3], "link": [{"relation":"next","url":"http://evil"}] }]' }] } }, 'x', [[]], {}, null, 0] }),
      page({ meta: { entry: [1, 2], link: [{ relation: 'next', url: 'http://nested' }], resourceType: 'Patient' } }),
      page({ entry: 'not an array' }),
      page({ link: { relation: 'next', url: 'http://object' } }),
      page({ 'odd \\ "key" {[': 'value with \\ backslash and \\" quote ]}', entry: [] }),
      { ...page(), resourceType: 'Bundle', entry: [{}, {}] },
      { resourceType: 'Patient', id: 'x' },
      { resourceType: { nested: 'Bundle' } },
      { entry: [1, 2] },
      {},
    ];
    for (const doc of tricky) {
      const text = JSON.stringify(doc);
      expect([text.slice(0, 60), skimAllWays(text)]).toEqual([text.slice(0, 60), reference(text)]);
    }
    // Keys spelt with escapes, and a key given twice (the last one counts, as with JSON.parse).
    const escaped = '{"resource\\u0054ype":"Bundle","entry":[1],"li\\u006ek":[{"relation":"next","url":"http://a"}],"entry":[1,2]}';
    expect(skimAllWays(escaped)).toEqual(reference(escaped));
    expect(skimAllWays(escaped)).toEqual({ entries: 2, next: 'http://a' });
    const twice = '{"resourceType":"Bundle","resourceType":"Patient"}';
    expect(skimAllWays(twice)).toBe('not-bundle');
    expect(skimAllWays('{"resourceType":"Bundle","resourceType":null}')).toBe('not-bundle');
    expect(skimAllWays('{"resourceType":"Patient","resourceType":"Bundle"}')).toEqual({ entries: 0, next: null });
  });

  it('refuses what is not a JSON object, is cut short or has something after it', () => {
    for (const text of ['', '   ', '<html>login</html>', '[{"resourceType":"Bundle"}]', '"Bundle"', '{"resourceType":"Bundle","entry":[', '{"resourceType":"Bundle"', '{"resourceType":"Bundle"} x', '{"resourceType":"Bundle"}}', '{"resourceType":"Bu', '{1:2}', '\uFEFF\uFEFF{}']) {
      expect([text, skimAllWays(text)]).toEqual([text, 'not-json']);
    }
    // A `link` array too long to be links.
    expect(skimPage(bytes(JSON.stringify({ resourceType: 'Bundle', link: [{ relation: 'next', url: 'x'.repeat(300_000) }] })))).toBe('not-json');
  });

  it('agrees with JSON.parse on generated documents', () => {
    let seed = 20;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const strings = ['entry', 'link', 'resourceType', 'Bundle', 'next', '"', '\\', '{', ']', 'é', '\u2028', 'a,b:c'];
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) return [null, true, 1.5e3, -2, strings[Math.floor(rand() * strings.length)]][Math.floor(rand() * 5)];
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [strings[Math.floor(rand() * strings.length)]!, value(depth + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const doc: Record<string, unknown> = { resourceType: rand() < 0.8 ? 'Bundle' : 'Patient' };
      for (const key of ['entry', 'link', 'meta', 'resourceType', 'x']) if (rand() < 0.5) doc[key] = key === 'link' && rand() < 0.5 ? [{ relation: 'next', url: `http://n/${i}` }] : value(1);
      const text = JSON.stringify(doc, null, rand() < 0.3 ? 1 : undefined);
      expect([text, skimAllWays(text)]).toEqual([text, reference(text)]);
    }
  });
});
