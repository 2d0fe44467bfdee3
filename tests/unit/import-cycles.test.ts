import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * No import cycles in the server: neither between files nor between the
 * folders of server/src (auth, audit, db, domain, http, rooms, …). Type-only
 * imports count too — a cycle of types is still two modules that cannot be
 * understood (or moved) one without the other. The graph is read with a
 * regular expression over import/export-from statements and dynamic imports.
 */
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../server/src');
const SPEC = /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** file (relative to server/src) → the server/src files it imports. */
export function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files(SRC)) {
    const deps = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(SPEC)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (target.startsWith(SRC + path.sep)) deps.add(path.relative(SRC, target));
    }
    graph.set(path.relative(SRC, file), deps);
  }
  return graph;
}

/** Strongly connected components with more than one member (or a self-loop): the cycles. */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** A folder of server/src; a file at the top (app.ts, config.ts, errors.ts, logger.ts, outbound.ts) stands alone. */
const folderOf = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0]! : file);

/**
 * Cycles known and owned elsewhere, listed so nothing new slips in beside them: the Colyseus adapter's
 * two files call each other (issue 18, part 4 fences them). Remove the entry when it is gone.
 */
const KNOWN_FILE_CYCLES = [[path.join('rooms', 'clinic.room.ts'), path.join('rooms', 'matchmaking.ts')]];

describe('server/src has no import cycles', () => {
  const graph = importGraph();

  it('reads the graph (a broken reader would find nothing)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get(path.join('rooms', 'clinic.ts'))).toContain(path.join('auth', 'policy.ts'));
    expect(cycles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]))).toEqual([['a', 'b', 'c']]);
  });

  it('between files', () => {
    expect(cycles(graph)).toEqual(KNOWN_FILE_CYCLES);
  });

  it('between folders', () => {
    const folders = new Map<string, Set<string>>();
    for (const [file, deps] of graph) {
      const from = folderOf(file);
      const set = folders.get(from) ?? new Set<string>();
      for (const d of deps) if (folderOf(d) !== from) set.add(folderOf(d));
      folders.set(from, set);
    }
    const found = cycles(folders).map((c) => {
      // Name the imports that close each cycle, so the failure says where to look.
      const edges = [...graph].flatMap(([f, deps]) => [...deps].filter((d) => c.includes(folderOf(f)) && c.includes(folderOf(d)) && folderOf(f) !== folderOf(d)).map((d) => `${f} → ${d}`));
      return { folders: c, edges };
    });
    expect(found).toEqual([]);
  });

  it('the engine declares what it stores: server/src/rooms imports nothing from server/src/db but in the Colyseus adapter and its registry', () => {
    const ADAPTER = new Set(['clinic.room.ts', 'live-rooms.ts', 'matchmaking.ts'].map((f) => path.join('rooms', f)));
    const engineToDb = [...graph].flatMap(([f, deps]) => (f.startsWith(`rooms${path.sep}`) && !ADAPTER.has(f) ? [...deps].filter((d) => d.startsWith(`db${path.sep}`)).map((d) => `${f} → ${d}`) : []));
    expect(engineToDb).toEqual([]);
  });
});
