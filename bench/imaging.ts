/**
 * Imaging scenario of `npm run bench` (issue 21), on loopback against a real server process:
 *  1. time to the first slice of a 512×512×300 CT: list → series metadata → the first frame → HU and
 *     window (what the viewer does before it paints), cold (first read after upload) and warm;
 *  2. slice sync with 16 followers: the presenter's `viewer.set` at 20 slices/s until each follower's
 *     state shows that slice (send and receive on this process's clock);
 *  3. server memory (RSS) while 16 people scroll, each fetching frames at 20 slices/s.
 * The CT is synthetic (a phantom written by tests/support/dicom-writer.ts at bench time: explicit VR
 * little endian, 16-bit signed, 0.7 mm pixels, 300 slices 1.25 mm apart), uploaded like any study: as
 * one zip (BENCH_IMAGING_UPLOAD=files: one instance per request).
 * Writes bench/results/imaging.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { modalityValues, windowToGrey } from '../client/src/app/imaging/pixels.ts';
import { ConsiliumClient, type ClinicSession } from '../client/src/sdk/index.ts';
import type { ImagingListResponse, ImagingSeriesResponse } from '../shared/src/imaging.ts';
import { EXPLICIT_LE, part10 } from '../tests/support/dicom-writer.ts';
import { zip } from '../tests/support/zip-writer.ts';
import { benchDatabase, cpuMs, fmt, now, percentile, root, startProcess, stop } from './support.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const SIZE = 512;
const SLICES = Number(process.env.BENCH_IMAGING_SLICES ?? 300);
const FOLLOWERS = 16;
const SCROLL_HZ = 20;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** zip (default): the study as one zip, as an admin uploads it; files: one instance per request. */
const UPLOAD = process.env.BENCH_IMAGING_UPLOAD === 'files' ? 'files' : 'zip';
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const UID = '1.2.826.0.1.3680043.9.7433.21';
const PATIENT = { name: 'Phantom^Bench', id: 'BENCH-CT-1', birthDate: '19600101' };

/** A synthetic chest: air outside, a water body, two lungs, a spine, and a 2 cm lesion in slices 140–170. HU + 1024 stored. */
function phantomSlice(k: number): Uint8Array {
  const px = new Int16Array(SIZE * SIZE);
  const c = SIZE / 2;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const [dx, dy] = [(x - c) / 220, (y - c) / 160];
      let hu = -1000;
      if (dx * dx + dy * dy < 1) {
        hu = 40 + ((x * 7 + y * 13 + k * 3) % 21) - 10; // soft tissue with a little texture
        const lung = (lx: number) => ((x - lx) / 80) ** 2 + ((y - c + 10) / 110) ** 2 < 1;
        if (lung(c - 100) || lung(c + 100)) hu = -850;
        if (((x - c) / 30) ** 2 + ((y - c - 110) / 30) ** 2 < 1) hu = 700;
        if (k >= 140 && k <= 170 && (x - c - 100) ** 2 + (y - c) ** 2 + ((k - 155) * 1.8) ** 2 < 15 ** 2) hu = 60;
      }
      px[y * SIZE + x] = hu + 1024;
    }
  }
  return new Uint8Array(px.buffer);
}

function instance(k: number): Uint8Array {
  const ds = (n: number) => n.toFixed(2);
  return part10({
    sopClassUid: CT_IMAGE,
    sopInstanceUid: `${UID}.3.${k + 1}`,
    transferSyntax: EXPLICIT_LE,
    elements: [
      { tag: '00080008', vr: 'CS', value: 'ORIGINAL\\PRIMARY\\AXIAL' },
      { tag: '00080020', vr: 'DA', value: '20240101' },
      { tag: '00080060', vr: 'CS', value: 'CT' },
      { tag: '0008103E', vr: 'LO', value: 'Synthetic chest phantom' },
      { tag: '00100010', vr: 'PN', value: PATIENT.name },
      { tag: '00100020', vr: 'LO', value: PATIENT.id },
      { tag: '00100030', vr: 'DA', value: PATIENT.birthDate },
      { tag: '00180050', vr: 'DS', value: '1.25' },
      { tag: '0020000D', vr: 'UI', value: `${UID}.1` },
      { tag: '0020000E', vr: 'UI', value: `${UID}.2` },
      { tag: '00200011', vr: 'IS', value: '2' },
      { tag: '00200013', vr: 'IS', value: String(k + 1) },
      { tag: '00200032', vr: 'DS', value: `${ds(-179.2)}\\${ds(-179.2)}\\${ds(-k * 1.25)}` },
      { tag: '00200037', vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
      { tag: '00280002', vr: 'US', value: 1 },
      { tag: '00280004', vr: 'CS', value: 'MONOCHROME2' },
      { tag: '00280010', vr: 'US', value: SIZE },
      { tag: '00280011', vr: 'US', value: SIZE },
      { tag: '00280030', vr: 'DS', value: '0.7\\0.7' },
      { tag: '00280100', vr: 'US', value: 16 },
      { tag: '00280101', vr: 'US', value: 16 },
      { tag: '00280102', vr: 'US', value: 15 },
      { tag: '00280103', vr: 'US', value: 1 },
      { tag: '00281050', vr: 'DS', value: '40' },
      { tag: '00281051', vr: 'DS', value: '400' },
      { tag: '00281052', vr: 'DS', value: '-1024' },
      { tag: '00281053', vr: 'DS', value: '1' },
      { tag: '7FE00010', vr: 'OW', value: phantomSlice(k) },
    ],
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The study as one zip, deflated before the clock starts (and before the server holds an idle connection of ours).
let studyBytes = 0;
const studyZip = UPLOAD === 'zip'
  ? zip(Array.from({ length: SLICES }, (_, k) => {
      const data = instance(k);
      studyBytes += data.length;
      return { name: `DICOM/SE000/IM${String(k + 1).padStart(4, '0')}`, data };
    }))
  : null;
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-bench-imaging-'));
const db = await benchDatabase();
const { child, url } = await startProcess(['server/src/main.ts'], { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn', SEED_DEMO: 'false', DATA_DIR: dataDir,
  // The default per-address API limit (600 a minute) is below one reader scrolling at 20 slices/s, and all bench clients share 127.0.0.1.
  HTTP_RATE_LIMIT_PER_MINUTE: process.env.BENCH_HTTP_RATE_LIMIT ?? '1000000' });
const pid = child.pid!;
const sessions: ClinicSession[] = [];
try {
  const admin = new ConsiliumClient(url);
  await admin.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
  const { caseId } = await admin.api.importCase({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: 'urn:uuid:5d1f7c3e-2121-4a1b-9c55-000000000021', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: PATIENT.id }], name: [{ family: 'Phantom', given: ['Bench'] }], gender: 'other', birthDate: '1960-01-01' } }],
  });
  const rssIdle = rssMb(pid);
  let bytes = 0;
  let uploadS: number;
  let zipMb: number | null = null;
  let uploadRssPeak = rssIdle;
  const sampler = setInterval(() => (uploadRssPeak = Math.max(uploadRssPeak, rssMb(pid))), 200);
  if (UPLOAD === 'files') {
    const t = performance.now();
    for (let k = 0; k < SLICES; k++) {
      const file = instance(k);
      bytes += file.length;
      await admin.api.uploadDicom(caseId, file);
    }
    uploadS = (performance.now() - t) / 1000;
  } else {
    // As an admin uploads a study: one zip (built before the server was asked for anything, so no idle keep-alive socket is reused).
    zipMb = studyZip!.length / 1e6;
    bytes = studyBytes;
    const t = performance.now();
    const stored = await admin.api.uploadDicomZip(caseId, studyZip!).finally(() => clearInterval(sampler));
    uploadS = (performance.now() - t) / 1000;
    if (stored.created !== SLICES) throw new Error(`the zip stored ${stored.created} of ${SLICES} slices`);
  }
  clearInterval(sampler);
  const rssAfterUpload = rssMb(pid);
  console.log(`Uploaded ${SLICES} synthetic CT slices (${SIZE}×${SIZE}, 16-bit; ${fmt(bytes / 1e6, 0)} MB) ${zipMb === null ? 'one file per request' : `as one zip of ${fmt(zipMb)} MB`} in ${fmt(uploadS)} s; server RSS peak ${fmt(uploadRssPeak, 0)} MB during the upload`);

  const users = Array.from({ length: FOLLOWERS }, (_, i) => `f${i}`);
  const room = await admin.api.createRoom({ title: 'Imaging bench', kind: 'case-conference', caseId, participants: [{ userId: 'lead', role: 'host' }, ...users.map((userId) => ({ userId, role: 'clinician' as const }))] });
  const client = async (userId: string) => {
    const c = new ConsiliumClient(url);
    await c.api.devLogin({ userId, name: userId, scopes: ['patient/*.rs'] }); // as the browser's development sign-in does
    return c;
  };

  // ---- 1. time to the first slice -------------------------------------------------------------
  const firstSlice = async (c: ConsiliumClient) => {
    const t0 = performance.now();
    const list = await c.api.call('GET /api/cases/:id/imaging', { params: { id: caseId }, query: { room: room.id } }) as ImagingListResponse;
    const s0 = list.studies[0]!.series[0]!;
    const t1 = performance.now();
    const series = await c.api.call('GET /api/cases/:id/imaging/series/:seriesUid', { params: { id: caseId, seriesUid: s0.seriesUid }, query: { room: room.id } }) as ImagingSeriesResponse;
    const t2 = performance.now();
    const inst = series.instances[0]!;
    const frame = await c.api.imagingFrame(caseId, series.seriesUid, inst.sopUid, 1, room.id);
    const t3 = performance.now();
    windowToGrey(modalityValues(frame.bytes, inst), 40, 400);
    const t4 = performance.now();
    if (series.instances.length !== SLICES || frame.bytes.length !== SIZE * SIZE * 2) throw new Error(`unexpected series: ${series.instances.length} instances, frame ${frame.bytes.length} bytes`);
    return { total: t4 - t0, list: t1 - t0, series: t2 - t1, frame: t3 - t2, decode: t4 - t3, key: s0.key, seriesUid: series.seriesUid, sops: series.instances.map((i) => i.sopUid) };
  };
  const lead = await client('lead');
  const cold = await firstSlice(lead);
  const warm: Awaited<ReturnType<typeof firstSlice>>[] = [];
  for (let i = 0; i < 5; i++) warm.push(await firstSlice(await client(users[i]!)));
  warm.sort((a, b) => a.total - b.total);
  const w = warm[2]!;
  console.log(`Time to the first slice (list → series of ${SLICES} → frame → HU/window): cold ${fmt(cold.total)} ms (list ${fmt(cold.list)}, series ${fmt(cold.series)}, frame ${fmt(cold.frame)}, decode ${fmt(cold.decode)}); warm median ${fmt(w.total)} ms (list ${fmt(w.list)}, series ${fmt(w.series)}, frame ${fmt(w.frame)}, decode ${fmt(w.decode)})`);

  // ---- 2. slice sync: presenter → 16 followers ---------------------------------------------------
  const presenter = await lead.join(room.id);
  await presenter.ready();
  sessions.push(presenter);
  const followers: ClinicSession[] = [];
  for (const u of users) {
    const s = await (await client(u)).join(room.id);
    await s.ready();
    followers.push(s);
    sessions.push(s);
  }
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let recording = false;
  for (const f of followers) {
    let last = -1;
    f.room.onStateChange(() => {
      const v = f.state.viewer?.get('shared');
      if (!v || v.slice === last) return;
      last = v.slice;
      const at = sentAt.get(v.slice);
      if (recording && at !== undefined) latencies.push(now() - at);
    });
  }
  const first = await presenter.request('viewer.set', { series: cold.key, slice: 0, center: 40, width: 400, zoom: 1, panX: 0, panY: 0 });
  if (!first.ok) throw new Error(`viewer.set refused: ${first.error.code}`);
  await sleep(500);
  if (!followers.every((f) => f.state.viewer?.get('shared')?.series === cold.key)) throw new Error('followers did not receive the shared view');
  let slice = 0;
  let refused = 0;
  const scroll = async (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      slice = (slice + 1) % SLICES;
      sentAt.set(slice, now());
      void presenter.request('viewer.set', { slice }).then((r) => void (r.ok || refused++));
      await sleep(1000 / SCROLL_HZ);
    }
  };
  await scroll(1000);
  recording = true;
  await scroll(SECONDS * 1000);
  await sleep(300);
  recording = false;
  latencies.sort((a, b) => a - b);
  const expected = Math.round(SECONDS * SCROLL_HZ) * FOLLOWERS;
  console.log(`Slice sync (viewer.set at ${SCROLL_HZ} slices/s → ${FOLLOWERS} followers' state, ${SECONDS} s): p50 ${fmt(percentile(latencies, 0.5))} ms, p99 ${fmt(percentile(latencies, 0.99))} ms, max ${fmt(latencies.at(-1)!)} ms; ${latencies.length} of ≈${expected} slice changes seen${refused ? `, ${refused} refused` : ''}`);

  // ---- 3. memory while people scroll (one alone first: what a single reader gets) ----------------
  const scrollRun = async (people: ConsiliumClient[], seconds: number) => {
    const rss: number[] = [rssMb(pid)];
    const frameMs: number[] = [];
    let [skipped, failed] = [0, 0];
    const failures = new Map<string, number>();
    const sampler = setInterval(() => rss.push(rssMb(pid)), 200);
    const t0 = performance.now();
    const [cpu0, ownCpu0] = [cpuMs(pid), cpuMs(process.pid)];
    await Promise.all(people.map(async (c, i) => {
      let inFlight = 0;
      let k = (i * 17) % SLICES;
      const end = performance.now() + seconds * 1000;
      const pending: Promise<void>[] = [];
      while (performance.now() < end) {
        // The viewer keeps a few requests in flight; a slice asked for while four are pending is dropped (it would paint late).
        if (inFlight >= 4) skipped++;
        else {
          inFlight++;
          const s = performance.now();
          pending.push(c.api.imagingFrame(caseId, cold.seriesUid, cold.sops[k]!, 1, room.id).then((f) => {
            if (f.bytes.length !== SIZE * SIZE * 2) failed++;
            frameMs.push(performance.now() - s);
          }, (err: unknown) => {
            failed++;
            const code = String((err as { code?: string }).code ?? (err as Error).message);
            failures.set(code, (failures.get(code) ?? 0) + 1);
          }).finally(() => void inFlight--));
        }
        k = (k + 1) % SLICES;
        await sleep(1000 / SCROLL_HZ);
      }
      await Promise.all(pending);
    }));
    const elapsed = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    frameMs.sort((x, y) => x - y);
    return {
      people: people.length, seconds: elapsed, rssBefore: rss[0]!, rssPeak: Math.max(...rss), rssEnd: rss.at(-1)!,
      framesPerSecond: frameMs.length / elapsed, asked: people.length * SCROLL_HZ, skipped, failed, failures: Object.fromEntries(failures),
      p50: percentile(frameMs, 0.5), p99: percentile(frameMs, 0.99),
      serverCpuPct: (cpuMs(pid) - cpu0) / elapsed / 10, clientCpuPct: (cpuMs(process.pid) - ownCpu0) / elapsed / 10,
      // What each frame costs the server, whoever else shares the cores (the machine's load moves frames/s, not this much).
      serverCpuMsPerFrame: (cpuMs(pid) - cpu0) / Math.max(1, frameMs.length), loadAverage: os.loadavg()[0]!,
    };
  };
  const scrollers = await Promise.all(users.map(client));
  const report = (r: Awaited<ReturnType<typeof scrollRun>>) =>
    `${r.people} ${r.people === 1 ? 'person scrolls' : 'people scroll'} at ${SCROLL_HZ} slices/s for ${fmt(r.seconds)} s: server RSS ${fmt(r.rssBefore, 0)} MB before, peak ${fmt(r.rssPeak, 0)} MB, end ${fmt(r.rssEnd, 0)} MB; ${fmt(r.framesPerSecond, 0)} frames/s of ${r.asked}/s asked (${r.skipped} dropped, ${r.failed} failed${r.failed ? ` ${JSON.stringify(r.failures)}` : ''}); frame p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms; CPU: server ${fmt(r.serverCpuPct, 0)} % (${fmt(r.serverCpuMsPerFrame, 2)} ms per frame), clients ${fmt(r.clientCpuPct, 0)} %; load average ${fmt(r.loadAverage)}`;
  const alone = await scrollRun(scrollers.slice(0, 1), Math.min(5, SECONDS));
  console.log(report(alone));
  const all = await scrollRun(scrollers, SECONDS);
  console.log(`${report(all)} (server idle ${fmt(rssIdle, 0)} MB, after the upload ${fmt(rssAfterUpload, 0)} MB)`);

  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(path.join(root, 'bench/results/imaging.json'), JSON.stringify({
    synthetic: true, slices: SLICES, size: SIZE, upload: UPLOAD, uploadS, zipMb, uploadRssPeak,
    firstSlice: { cold, warmMedian: { total: w.total, list: w.list, series: w.series, frame: w.frame, decode: w.decode } },
    sliceSync: { followers: FOLLOWERS, hz: SCROLL_HZ, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1), seen: latencies.length, expected, refused },
    scrolling: { hz: SCROLL_HZ, rssIdle, rssAfterUpload, alone, all },
  }, (k, v) => (k === 'sops' ? undefined : v), 2));
} finally {
  await Promise.all(sessions.map((s) => s.leave().catch(() => {})));
  await stop(child);
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(0);
