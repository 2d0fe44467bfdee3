/**
 * What a V8 heap snapshot holds, by constructor: self size and count, the
 * largest first. `npx tsx bench/memory/heap-summary.ts a.heapsnapshot [b.heapsnapshot]`
 * — with two, the difference b − a (what the seats added).
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function summarize(file: string): Map<string, { size: number; count: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const stride = f.length;
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += stride) {
    const type = types[s.nodes[i + iType]!]!;
    let name = type === 'object' || type === 'native' || type === 'closure' ? s.strings[s.nodes[i + iName]!]! : `(${type})`;
    if (type === 'closure') name = `closure ${name}`;
    if (name.length > 60) name = name.slice(0, 60);
    const e = out.get(name) ?? { size: 0, count: 0 };
    e.size += s.nodes[i + iSize]!;
    e.count++;
    out.set(name, e);
  }
  return out;
}

const [a, b] = process.argv.slice(2);
const base = summarize(a!);
const rows = b ? [...summarize(b)].map(([k, v]) => [k, { size: v.size - (base.get(k)?.size ?? 0), count: v.count - (base.get(k)?.count ?? 0) }] as const) : [...base];
rows.sort((x, y) => y[1].size - x[1].size);
const total = rows.reduce((t, [, v]) => t + v.size, 0);
console.log(`total ${(total / 2 ** 20).toFixed(1)} MB`);
for (const [k, v] of rows.slice(0, Number(process.env.TOP ?? 40))) console.log(`${(v.size / 1024).toFixed(0).padStart(9)} KiB ${String(v.count).padStart(8)}  ${k}`);
