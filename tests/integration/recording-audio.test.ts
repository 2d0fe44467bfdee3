import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { AudioLinks } from '../../server/src/auth/audio-links.ts';
import { loadOrCreateSigningKey } from '../../server/src/auth/keys.ts';
import { KeysRepo } from '../../server/src/db/keys.repo.ts';
import { parseRange } from '../../server/src/http/recording-audio.routes.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { refusal } from '../support/refusal.ts';

/**
 * A recording's voice (LiveKit egress → the hospital's storage → RECORDING_AUDIO_DIR) played back
 * through Consilium: who may hear it, for how long, and what an attacker gets with ordinary tickets.
 */
const KEY = 'APIaudio';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const EGRESS_DELAY_MS = 1200;
const lk = new LiveKitStandIn(KEY, SECRET);
let server: TestServer;
let admin: ConsiliumClient;
let storage: string;
let voice: Buffer;
let recA: string;
let recB: string;
let roomA: string;


/** GET a URL as a browser's <audio> element does: no Authorization header, maybe a Range. */
async function fetchAudio(url: string, range?: string) {
  const res = await fetch(new URL(url, server.app.url), { headers: range ? { range } : {} });
  const body = Buffer.from(await res.arrayBuffer());
  const code = res.headers.get('content-type')?.includes('json') ? (JSON.parse(body.toString()) as { error: { code: string } }).error.code : null;
  return { status: res.status, body, code, headers: res.headers };
}

async function record(host: string, roomId: string, ms = 1500): Promise<string> {
  const s = await server.join(host, roomId);
  const { recordingId, audio } = await s.do('recording.start', {});
  await new Promise((r) => setTimeout(r, ms));
  await s.do('recording.stop', {});
  await s.leave();
  expect(audio).not.toBe('none');
  return recordingId;
}

const auditRows = async (action: string) => {
  const rows = [];
  let after: number | null = 0;
  while (after !== null) {
    const page = await admin.api.audit({ limit: 1000, after });
    rows.push(...page.events.filter((e) => e.action === action));
    after = page.next;
  }
  return rows;
};

beforeAll(async () => {
  voice = await readFile(path.resolve(import.meta.dirname, '../fixtures/audio/egress-voice.ogg'));
  storage = await mkdtemp(path.join(os.tmpdir(), 'consilium-egress-'));
  lk.egressOutputDir = storage;
  lk.egressAudio = voice;
  lk.egressStartDelayMs = EGRESS_DELAY_MS;
  await lk.start();
  server = await startTestServer({}, {
    LIVEKIT_URL: 'ws://127.0.0.1:7880',
    LIVEKIT_API_URL: lk.url,
    LIVEKIT_API_KEY: KEY,
    LIVEKIT_API_SECRET: SECRET,
    // The egress writes consilium/<id>.ogg to its storage; Consilium reads that folder.
    RECORDING_AUDIO_DIR: path.join(storage, 'consilium'),
  });
  admin = await server.as('root', { admin: true });
  roomA = (await server.createRoom({ title: 'Voice A', recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] })).id;
  recA = await record('edu', roomA);
  const roomB = await server.createRoom({ title: 'Voice B', recordingAllowed: true, participants: [{ userId: 'other.host', role: 'host' }] });
  recB = await record('other.host', roomB.id);
  for (const u of ['stu', 'rev', 'lea']) await server.signIn(u); // granted or seated below: a grant or a seat names someone who has signed in
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await lk.stop();
  if (storage) await rm(storage, { recursive: true, force: true });
});

describe('the recorded voice, through an audited link', () => {
  it('the host gets a link: where the voice starts in the recording, and the file as the egress wrote it, whole or by range; audited', async () => {
    const edu = await server.as('edu');
    const link = await edu.api.recordingAudioLink(recA);
    expect(link.contentType).toBe('audio/ogg');
    expect(link.bytes).toBe(voice.byteLength);
    // The egress began recording 1.2 s after the recording did (it starts a compositor first).
    expect(link.offsetMs).toBeGreaterThanOrEqual(EGRESS_DELAY_MS - 50);
    expect(link.offsetMs).toBeLessThan(EGRESS_DELAY_MS + 500);
    expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * 60_000 + 1000);

    const whole = await fetchAudio(link.url);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(voice)).toBe(true);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('cache-control')).toBe('private, no-store');
    const part = await fetchAudio(link.url, 'bytes=100-199');
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${voice.byteLength}`);
    expect(part.body.equals(voice.subarray(100, 200))).toBe(true);
    const tail = await fetchAudio(link.url, 'bytes=-50');
    expect(tail.body.equals(voice.subarray(voice.byteLength - 50))).toBe(true);
    const rest = await fetchAudio(link.url, `bytes=${voice.byteLength - 10}-`);
    expect(rest.body.equals(voice.subarray(voice.byteLength - 10))).toBe(true);
    const past = await fetchAudio(link.url, 'bytes=0-99999999999');
    expect(past.headers.get('content-range')).toBe(`bytes 0-${voice.byteLength - 1}/${voice.byteLength}`);

    const rows = await auditRows('recording.audio');
    expect(rows.some((e) => e.actor === 'edu' && e.details['recordingId'] === recA && e.details['role'] === 'host')).toBe(true);
  });

  it('no grant: nothing, as if the recording did not exist; a link is no bearer token and no ticket, and no ticket or token is a link', async () => {
    const mallory = await server.as('mallory');
    expect(await refusal(mallory.api.recordingAudioLink(recA))).toBe('RECORDING_NOT_FOUND');
    // Without a link, or with anything else in its place.
    expect((await fetchAudio(`/api/recordings/${recA}/audio`)).status).toBe(400);
    expect((await fetchAudio(`/api/recordings/${recA}/audio?t=not-a-link`)).code).toBe('AUDIO_LINK_INVALID');
    const edu = await server.as('edu');
    const ticket = await edu.api.getTicket(roomA);
    expect((await fetchAudio(`/api/recordings/${recA}/audio?t=${encodeURIComponent(ticket.ticket)}`)).code).toBe('AUDIO_LINK_INVALID');
    expect((await fetchAudio(`/api/recordings/${recA}/audio?t=${encodeURIComponent(edu.api.identityToken!)}`)).code).toBe('AUDIO_LINK_INVALID');
    // A link's body changed (another user, another recording): its signature no longer holds.
    const link = new URL((await edu.api.recordingAudioLink(recA)).url);
    const [h, p, s] = link.searchParams.get('t')!.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(p, 'base64url').toString());
    forged.sub = 'mallory';
    forged.rec = recB;
    expect((await fetchAudio(`/api/recordings/${recB}/audio?t=${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${s}`)).code).toBe('AUDIO_LINK_INVALID');
    // Nor does a link from some other key.
    const { generateKeyPair, SignJWT } = await import('jose');
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const alien = await new SignJWT({ rec: recA }).setProtectedHeader({ alg: 'EdDSA', typ: 'consilium-audio+jwt' }).setIssuer('urn:consilium:server').setAudience('urn:consilium:recording-audio').setSubject('edu').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    expect((await fetchAudio(`/api/recordings/${recA}/audio?t=${alien}`)).code).toBe('AUDIO_LINK_INVALID');
  });

  it("another recording's id: a link is for one recording only; a grant to one is no right to another", async () => {
    const edu = await server.as('edu');
    await edu.api.grantRecording(recA, { userId: 'stu' });
    const stu = await server.as('stu');
    const link = new URL((await stu.api.recordingAudioLink(recA)).url);
    const t = link.searchParams.get('t')!;
    expect((await fetchAudio(`/api/recordings/${recB}/audio?t=${encodeURIComponent(t)}`)).code).toBe('AUDIO_LINK_INVALID');
    expect(await refusal(stu.api.recordingAudioLink(recB))).toBe('RECORDING_NOT_FOUND');
    expect((await fetchAudio(link.toString())).status).toBe(200); // a de-identified student hears the room, as live observers did
  });

  it('a revoked grant, a learner taken out of the group replay, a deleted recording: the same link stops at once', async () => {
    const edu = await server.as('edu');
    await edu.api.grantRecording(recA, { userId: 'rev' });
    const rev = await server.as('rev');
    const link = (await rev.api.recordingAudioLink(recA)).url;
    expect((await fetchAudio(link, 'bytes=0-9')).status).toBe(206);
    await edu.api.revokeRecording(recA, 'rev');
    expect((await fetchAudio(link, 'bytes=10-19')).code).toBe('RECORDING_NOT_FOUND');
    expect(await refusal(rev.api.recordingAudioLink(recA))).toBe('RECORDING_NOT_FOUND');

    // A learner in a group replay (no grant of their own) hears it while they are in it.
    const replay = await edu.api.openReplay(recA, { participants: [{ userId: 'lea', role: 'observer' }] });
    const lea = await server.as('lea');
    const leaLink = (await lea.api.recordingAudioLink(recA)).url;
    expect((await fetchAudio(leaLink, 'bytes=0-9')).status).toBe(206);
    await admin.api.call('DELETE /api/rooms/:id/participants/:userId', { params: { id: replay.id, userId: 'lea' } });
    expect((await fetchAudio(leaLink, 'bytes=0-9')).code).toBe('RECORDING_NOT_FOUND');

    // Deleted: gone for its host too.
    const doomedRoom = await server.createRoom({ title: 'Doomed', recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] });
    const doomed = await record('edu', doomedRoom.id, 300);
    const doomedLink = (await edu.api.recordingAudioLink(doomed)).url;
    const doomedFile = path.join(storage, 'consilium', `${doomed}.ogg`);
    expect(existsSync(doomedFile)).toBe(true);
    await edu.api.deleteRecording(doomed);
    expect((await fetchAudio(doomedLink)).code).toBe('RECORDING_NOT_FOUND');
    // The voice is deleted with its recording (the egress's file in the shared storage), and the audit row says so.
    expect(existsSync(doomedFile)).toBe(false);
    const deleted = (await admin.api.audit({ limit: 1000 })).events.find((e) => e.action === 'recording.delete' && e.details['recordingId'] === doomed);
    expect(deleted?.details).toMatchObject({ audioDeleted: true });
  });

  it('an expired link is refused (the player asks for a new one before)', async () => {
    const key = await loadOrCreateSigningKey(new KeysRepo(server.app.pool), 'ticket');
    const stale = await new AudioLinks(key, -60).issue({ userId: 'edu', admin: false }, recA);
    expect((await fetchAudio(`/api/recordings/${recA}/audio?t=${stale.token}`)).code).toBe('AUDIO_LINK_INVALID');
    const fresh = await new AudioLinks(key).issue({ userId: 'edu', admin: false }, recA);
    expect((await fetchAudio(`/api/recordings/${recA}/audio?t=${fresh.token}`)).status).toBe(200);
  });

  it('path traversal: the file is named by the recording id (a UUID) and nothing a request says', async () => {
    const edu = await server.as('edu');
    const t = new URL((await edu.api.recordingAudioLink(recA)).url).searchParams.get('t')!;
    for (const id of ['..%2F..%2F..%2Fetc%2Fpasswd', '..', `${recA}%2F..%2F..%2Fetc%2Fpasswd`, `${recA}.ogg`, '%2Fetc%2Fpasswd', `${recA}%00`]) {
      const res = await fetchAudio(`/api/recordings/${id}/audio?t=${encodeURIComponent(t)}`);
      expect(res.status, id).toBeGreaterThanOrEqual(400);
      expect(res.body.includes(Buffer.from('root:')), id).toBe(false);
    }
    const res = await fetch(new URL(`/api/recordings/${recA}/audio/../../../../etc/passwd?t=${encodeURIComponent(t)}`, server.app.url));
    expect((await res.text()).includes('root:')).toBe(false);
  });

  it('Range abuse: several ranges, other units, inverted, past the end or absurd are 416 with the size; a huge range is clipped', async () => {
    const edu = await server.as('edu');
    const link = (await edu.api.recordingAudioLink(recA)).url;
    const many = Array.from({ length: 500 }, (_, i) => `${i}-${i}`).join(',');
    for (const range of ['bytes=0-1,2-3', `bytes=${many}`, 'items=0-10', 'bytes=20-10', `bytes=${voice.byteLength}-`, 'bytes=-0', 'bytes=-', 'bytes=0000000000000000001-', 'bytes= 1-2', 'bytes=1-2-3']) {
      const res = await fetchAudio(link, range);
      expect(res.status, range).toBe(416);
      expect(res.code, range).toBe('RANGE_NOT_SATISFIABLE');
      expect(res.headers.get('content-range'), range).toBe(`bytes */${voice.byteLength}`);
    }
    // One range is answered with at most 8 MiB (the player asks again as it plays).
    expect(parseRange('bytes=0-', 20 * 1024 * 1024)).toEqual({ start: 0, end: 8 * 1024 * 1024 - 1 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange(undefined, 1000)).toBeNull();
  });

  it('without recorded voice, or without the file where Consilium reads it, the link says so', async () => {
    const edu = await server.as('edu');
    lk.failStatus = 500;
    let failed: string;
    try {
      failed = await record('edu', roomA, 200);
    } finally {
      lk.failStatus = null;
    }
    expect(await refusal(edu.api.recordingAudioLink(failed))).toBe('RECORDING_NO_AUDIO');
    lk.egressAudio = null; // the egress wrote nowhere Consilium can see
    let missing: string;
    try {
      missing = await record('edu', roomA, 200);
    } finally {
      lk.egressAudio = voice;
    }
    expect(await refusal(edu.api.recordingAudioLink(missing))).toBe('RECORDING_AUDIO_UNAVAILABLE');
  });
});
