/**
 * `npm run bench`: every scenario, one after another in one run on this machine,
 * each with its baselines: pose fan-out (bench/run.ts, bench/fanout/; BENCH_QUICK=1
 * for a short development run), guidance pointer latency (bench/guidance.ts),
 * live vitals delivery (bench/vitals.ts), a grand-rounds hall of 500 (bench/grand-rounds.ts), FHIR import and join size (bench/fhir-import.ts),
 * server memory at 100 and 1,000 seats (bench/memory/run.ts), latency against CPU by pose
 * window (bench/fanout/curve.ts) and the event loop during a 10 MB import (bench/import-stall.ts);
 * imaging: first slice of a 512×512×300 CT, slice sync, memory while scrolling (bench/imaging.ts).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const scenarios: [string, string[]][] = [
  ['bench/run.ts', []],
  ['bench/vitals.ts', []],
  ['bench/guidance.ts', []],
  ['bench/grand-rounds.ts', []],
  ['bench/fhir-import.ts', []],
  ['bench/memory/run.ts', []],
  ['bench/fanout/curve.ts', []],
  ['bench/import-stall.ts', []],
  ['bench/imaging.ts', []],
];
let failed = false;
for (const [script, args] of scenarios) {
  console.log(`\n### ${script}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${script} failed (exit ${r.status})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
