/**
 * Generate the C# schema classes native AR clients (Unity: HoloLens, Quest,
 * visionOS via Unity) decode the room state with, from shared/src/state.ts.
 *   npm run codegen:unity            write client/unity/Schema/*.cs
 *   npm run codegen:unity -- --check exit 1 when the committed files are out of date
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const target = path.join(root, 'client', 'unity', 'Schema');

export function generate(): Map<string, string> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'consilium-codegen-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules', '@colyseus', 'schema', 'build', 'codegen', 'cli.cjs'), path.join(root, 'shared', 'src', 'state.ts'), '--csharp', '--namespace', 'Consilium.Schema', '--output', out], { stdio: 'pipe' });
    return new Map(readdirSync(out).filter((f) => f.endsWith('.cs')).sort().map((f) => [f, readFileSync(path.join(out, f), 'utf8')]));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function committed(): Map<string, string> {
  let files: string[] = [];
  try {
    files = readdirSync(target).filter((f) => f.endsWith('.cs')).sort();
  } catch {
    return new Map();
  }
  return new Map(files.map((f) => [f, readFileSync(path.join(target, f), 'utf8')]));
}

/** Names of files that differ (or exist on one side only). */
export function stale(): string[] {
  const fresh = generate();
  const have = committed();
  const names = new Set([...fresh.keys(), ...have.keys()]);
  return [...names].filter((n) => fresh.get(n) !== have.get(n)).sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  if (process.argv.includes('--check')) {
    const diff = stale();
    if (diff.length) {
      console.error(`client/unity/Schema is out of date (${diff.join(', ')}): run npm run codegen:unity`);
      process.exit(1);
    }
    console.log('client/unity/Schema is up to date');
  } else {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    for (const [name, text] of generate()) writeFileSync(path.join(target, name), text);
    console.log(`wrote ${target}`);
  }
}
