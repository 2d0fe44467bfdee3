/**
 * Tables and the JSON record of the fan-out benchmark: printed, written to
 * bench/results/fanout-<time>.json, and (full runs) put into the fan-out
 * section of docs/BENCHMARKS.md between its markers, leaving the other
 * sections as they are.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../support.ts';
import type { Settings } from './measure.ts';
import { HZ, POSITION_BOUND, ROTATION_BOUND_DEG } from './motion.ts';
import type { BenchServer } from './servers.ts';
import { ADDED_LIMIT_MS, type Point } from './series.ts';
import { fmt, type Spread } from './stats.ts';

export interface ReportInput {
  started: Date;
  quick: boolean;
  settings: Settings;
  reps: number;
  servers: BenchServer[];
  notes: string[];
  oneRoom: Point[];
  roomsOf16: Point[];
  idle: Point[];
  writeDocs: boolean;
}

const BEGIN = '<!-- fanout:begin (written by npm run bench: bench/fanout/report.ts) -->';
const END = '<!-- fanout:end -->';
const OLD_HEADING = '## Pose fan-out: Consilium clinic room vs. plain Colyseus';

/** "median (min–max)" — or just the value with one repetition. */
const sp = (s: Spread, d = 1) => (s.min === s.max || !Number.isFinite(s.min) ? fmt(s.median, d) : `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})`);

/** Most rooms of 16 with median p99 ≤ limit (ms), counting only an unbroken run from the first point. */
function capacity(points: Point[], server: string, limit: (first: number) => number): number {
  const mine = points.filter((p) => p.server === server).sort((a, b) => a.shape.rooms - b.shape.rooms);
  const first = mine[0]?.p99.median ?? NaN;
  let best = 0;
  for (const p of mine) {
    if (!(p.p99.median <= limit(first))) break;
    best = p.shape.rooms;
  }
  return best;
}

/** Capacity as text: "≥ n" when the largest point measured still passed. */
function capacityText(points: Point[], server: string, limit: (first: number) => number): string {
  const n = capacity(points, server, limit);
  const largest = Math.max(0, ...points.filter((p) => p.server === server).map((p) => p.shape.rooms));
  return n > 0 && n === largest ? `≥ ${n}` : String(n);
}

const find = (points: Point[], server: string, pred: (p: Point) => boolean) => points.find((p) => p.server === server && pred(p));
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');

export async function writeReport(input: ReportInput): Promise<void> {
  const { servers, oneRoom, roomsOf16, idle } = input;
  const label = new Map(servers.map((s) => [s.key, s.label]));
  const name = (key: string) => label.get(key) ?? key;
  const lines: string[] = [];
  const cpus = os.cpus();
  lines.push(
    `Machine: ${os.hostname()} (${cpus.length} cores, ${cpus[0]?.model.trim() ?? '?'}), Node ${process.version}, ${input.started.toISOString().slice(0, 16)}Z; ${input.quick ? 'QUICK run' : 'full run'}: ${input.settings.seconds} s per measurement after ${input.settings.warmupSeconds} s warm-up, ${input.reps} interleaved repetition(s), values median (min–max) over repetitions.`,
    '',
  );
  for (const n of input.notes) lines.push(`**${n}**`, '');
  const busy = Math.max(0, ...[...oneRoom, ...roomsOf16, ...idle].map((p) => p.busyMax));
  if (busy > input.settings.quietPct) lines.push(`⚠ Other load before some measurements reached ${busy.toFixed(0)} % of the machine (quiet threshold ${input.settings.quietPct} %): treat this run's numbers as indicative.`, '');

  lines.push(
    '### One room, N avatars at 30 Hz',
    '',
    '| Server | N | p50 ms | p99 ms | p99.9 ms | samples | bytes / avatar update (+ WS header) | server CPU % of a core | client CPU % | KiB/s per client |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...oneRoom.map((p) => `| ${name(p.server)} | ${p.shape.size} | ${sp(p.p50)} | ${sp(p.p99)} | ${sp(p.p999)} | ${p.samples} | ${fmt(p.bytesPerUpdate.median)} (${fmt(p.bytesPerUpdateWs.median)}) | ${sp(p.serverCpu)} | ${sp(p.clientCpu, 0)} | ${fmt(p.kibPerClientPerSec.median)} |`),
    '',
  );
  const errors = [...oneRoom, ...roomsOf16];
  lines.push(
    `Accuracy on received data (every matched update of every watched avatar, all three poses): ${servers.map((s) => { const e = errors.filter((p) => p.server === s.key); return `${s.key} ≤ ${fmt(Math.max(0, ...e.map((p) => p.maxPositionErrorMm)), 2)} mm / ${fmt(Math.max(0, ...e.map((p) => p.maxRotationErrorDeg)), 3)}°`; }).join(', ')} (bounds ${POSITION_BOUND * 1000} mm / ${ROTATION_BOUND_DEG}°).`,
    '',
    '### Rooms of 16 avatars',
    '',
    '| Server | rooms | clients | p50 ms | p99 ms | samples | server CPU % of a core | client CPU % |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...roomsOf16.map((p) => `| ${name(p.server)} | ${p.shape.rooms} | ${p.shape.rooms * p.shape.size} | ${sp(p.p50)} | ${sp(p.p99)} | ${p.samples} | ${sp(p.serverCpu)} | ${sp(p.clientCpu, 0)} |`),
    '',
    `Capacity — rooms of 16 before p99 exceeds ${ADDED_LIMIT_MS} ms (strict), and before the load adds ${ADDED_LIMIT_MS} ms to the server's own 1-room p99 (a batching server's patch wait is in its 1-room p99):`,
    '',
    '| Server | rooms, p99 ≤ 50 ms | rooms, p99 ≤ 1-room p99 + 50 ms |',
    '| --- | ---: | ---: |',
    ...servers.map((s) => `| ${s.label} | ${capacityText(roomsOf16, s.key, () => ADDED_LIMIT_MS)} | ${capacityText(roomsOf16, s.key, (f) => f + ADDED_LIMIT_MS)} |`),
    '',
  );
  if (idle.length) {
    const shape = idle[0]!.shape;
    lines.push(
      `### ${shape.rooms * shape.size} connected clients, ${shape.moving} moving per room (${shape.rooms} rooms of ${shape.size})`,
      '',
      '| Server | server RSS MB | server CPU % of a core | p50 ms | p99 ms | samples |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...idle.map((p) => `| ${name(p.server)} | ${fmt(p.serverRssMb.median, 0)} | ${sp(p.serverCpu)} | ${sp(p.p50)} | ${sp(p.p99)} | ${p.samples} |`),
      '',
    );
  }

  // Targets (issue 13), against stock Colyseus at its default patch rate in the same run.
  const c100 = find(oneRoom, 'consilium', (p) => p.shape.size === 100);
  const s100 = find(oneRoom, 'stock-50', (p) => p.shape.size === 100);
  const cBytes = Math.max(...oneRoom.filter((p) => p.server === 'consilium').map((p) => p.bytesPerUpdate.median));
  const cpuRatios = oneRoom.filter((p) => p.server === 'consilium').map((p) => ratio(p.serverCpu.median, find(oneRoom, 'stock-50', (q) => q.shape.size === p.shape.size)?.serverCpu.median));
  const cap = (key: string, strict: boolean) => (servers.some((s) => s.key === key) ? capacity(roomsOf16, key, strict ? () => ADDED_LIMIT_MS : (f) => f + ADDED_LIMIT_MS) : undefined);
  lines.push(
    '### Targets (issue 13)',
    '',
    '| Target | Consilium | stock, default patch (same run) | met |',
    '| --- | ---: | ---: | --- |',
    `| 100 avatars @ ${HZ} Hz: p99 ≤ 20 ms | ${c100 ? fmt(c100.p99.median) : 'not run'} | ${s100 ? fmt(s100.p99.median) : 'n/a'} | ${c100 ? (c100.p99.median <= 20 ? 'yes' : 'no') : '—'} |`,
    `| ≤ 32 bytes per avatar update (as received) | ${Number.isFinite(cBytes) ? fmt(cBytes) : 'not run'} | ${s100 ? fmt(s100.bytesPerUpdate.median) : 'n/a'} | ${Number.isFinite(cBytes) ? (cBytes <= 32 ? 'yes' : 'no') : '—'} |`,
    `| server CPU ≤ 0.75× stock (N = ${oneRoom.filter((p) => p.server === 'consilium').map((p) => p.shape.size).join('/') || '…'}) | ${cpuRatios.join(', ') || 'not run'} | 1× | ${c100 && s100 ? (c100.serverCpu.median <= 0.75 * s100.serverCpu.median ? 'yes (N = 100)' : 'no (N = 100)') : '—'} |`,
    // The issue's rule is the strict one (p99 ≤ 50 ms); the load-added rule is shown beside it.
    `| rooms of 16 before p99 > 50 ms ≥ 1.5× stock | ${cap('consilium', true) ?? 'not run'} rooms (${ratio(cap('consilium', true), cap('stock-50', true))} stock 50 ms, ${ratio(cap('consilium', true), cap('stock-33', true))} stock 33 ms; load-added rule: ${cap('consilium', false) ?? '—'} vs ${cap('stock-50', false) ?? '—'}) | ${cap('stock-50', true) ?? 'n/a'} | ${cap('consilium', true) !== undefined && cap('stock-50', true) !== undefined ? (cap('consilium', true)! >= Math.max(1, 1.5 * cap('stock-50', true)!) ? 'yes' : 'no') : '—'} |`,
    '',
  );
  const body = lines.join('\n');
  console.log(`\n${body}`);

  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `fanout-${input.started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ started: input.started, node: process.version, host: os.hostname(), cores: cpus.length, quick: input.quick, settings: input.settings, reps: input.reps, servers: servers.map((s) => ({ key: s.key, label: s.label, patchMs: s.patchMs })), notes: input.notes, oneRoom, roomsOf16, idle }, null, 2));
  console.log(`\nwrote ${path.relative(root, file)}`);
  if (input.writeDocs) writeDocs(`${intro()}\n${body}`);
}

function intro(): string {
  return [
    '## Pose fan-out (issue 13): Consilium vs. stock Colyseus and a naive relay',
    '',
    '`bench/run.ts` + `bench/fanout/`. Every client sends head + both hands at 30 Hz on its own timer from a random phase; every number moves (head bob, sway and turn; the left hand circles 12 cm at 1/3 Hz while bobbing; the right hand follows a Lissajous path; all three rotate). Servers run in their own processes, all started once and measured in turn, repetitions interleaved (A B C A B C …); CPU and RSS are read from `/proc`; a 1 s `/proc/stat` sample before each measurement checks the machine is quiet.',
    '',
    '- **Consilium**: `server/src/main.ts` as deployed, a throwaway database, a real Synthea patient imported over HTTP and shown in every room, rooms created through the admin API with each bench client invited as its own user (clinicians and observers alternating), joined with tickets; poses on the binary fast path (`shared/src/pose-wire.ts`: `sendBytes(POSE_MESSAGE)` up, `POSE_FRAME` records down, slots from the synced state).',
    '- **Stock Colyseus** (`bench/fanout/stock-server.ts`): the Colyseus-docs room with Consilium\'s old int16 pose schema (7 int16 per pose), at Colyseus\' default 50 ms patch rate and at 33 ms.',
    '- **Naive JSON relay** (`bench/fanout/relay-server.ts`): a plain `ws` server rebroadcasting each JSON pose to the room on arrival.',
    '',
    'Clients run in 4 worker processes (their CPU is reported). In each measurement 8 clients decode everything they receive; the others receive every byte and skip decoding. Latency: each decoding client watches every moving client of its room in its own process and matches what it receives against the sender\'s last 64 sends by the left hand position (consecutive sends are ≥ 5.9 mm apart, gate 2 mm), so every update is a probe; send time and receive time come from the same clock. Updates matching nothing within 2 s count as "> 2000". It is client-to-client latency on loopback: it includes the clients\' own WebSocket work on the same 2 cores, and no network. Bytes per avatar update: bytes of pose-carrying frames (Colyseus payload; WebSocket header in brackets) over avatar updates decoded from them. A batching server delivers the latest pose per patch, so with sends at 30 Hz and patches at 20 Hz a third of the sends are never delivered; latency is that of the delivered ones.',
    '',
  ].join('\n');
}

function writeDocs(section: string): void {
  const file = path.join(root, 'docs', 'BENCHMARKS.md');
  if (!existsSync(file)) return;
  const doc = readFileSync(file, 'utf8');
  const block = `${BEGIN}\n${section}\n${END}`;
  let next: string;
  if (doc.includes(BEGIN) && doc.includes(END)) next = doc.slice(0, doc.indexOf(BEGIN)) + block + doc.slice(doc.indexOf(END) + END.length);
  else if (doc.includes(OLD_HEADING)) {
    // First run: the old float32-baseline section, up to the next section.
    const start = doc.indexOf(OLD_HEADING);
    const after = doc.indexOf('\n## ', start + OLD_HEADING.length);
    next = doc.slice(0, start) + block + '\n\n' + (after < 0 ? '' : doc.slice(after + 1));
  } else next = `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
  console.log('updated docs/BENCHMARKS.md (fan-out section)');
}
