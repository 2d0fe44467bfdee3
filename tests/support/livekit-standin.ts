import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { AccessToken, TokenVerifier, type ClaimGrants } from 'livekit-server-sdk';

/**
 * A loopback stand-in for LiveKit's RoomService Twirp API
 * (`POST /twirp/livekit.RoomService/<Method>`, proto3 JSON). Like the real
 * server it checks the bearer JWT against the API secret and requires the
 * `roomAdmin` grant for the room; it records every call and can be made to
 * fail (HTTP 500) or go down (connection refused) and come back.
 */
export interface RecordedCall {
  method: string;
  body: Record<string, unknown>;
  grants: ClaimGrants;
}

interface Track {
  sid: string;
  source: 'MICROPHONE' | 'CAMERA' | 'SCREEN_SHARE';
  muted: boolean;
}

export class LiveKitStandIn {
  readonly calls: RecordedCall[] = [];
  readonly refused: { method: string; reason: string }[] = [];
  /** room → identity → participant */
  readonly rooms = new Map<string, Map<string, { identity: string; tracks: Track[]; permission?: unknown; metadata?: string }>>();
  failStatus: number | null = null;
  /** Where to post signed webhooks (participant_joined on connect), as LiveKit does when configured; null: none. */
  webhookUrl: string | null = null;
  private webhookSeq = 0;
  private server: http.Server | null = null;
  port = 0;

  constructor(
    readonly apiKey: string,
    readonly apiSecret: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const verifier = new TokenVerifier(this.apiKey, this.apiSecret);
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => void this.handle(req, raw, res, verifier));
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Connection refused until start() again (same port). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  /** A participant in a media room with a published microphone. */
  /** A participant connects to a room with a token (LiveKit checks the token then, and only then). Resolves once the webhook, if any, is answered. */
  async connect(room: string, identity: string, tracks: Track[] = [{ sid: `TR_mic_${identity}`, source: 'MICROPHONE', muted: false }]): Promise<void> {
    const r = this.rooms.get(room) ?? new Map();
    r.set(identity, { identity, tracks });
    this.rooms.set(room, r);
    if (this.webhookUrl) await this.webhook('participant_joined', room, identity);
  }

  /** A webhook as LiveKit sends it: JSON body, Authorization = a JWT signed with the API secret carrying the body's sha256. */
  private async webhook(event: string, room: string, identity: string): Promise<void> {
    const body = JSON.stringify({ event, id: `EV_standin_${++this.webhookSeq}_${Date.now()}`, createdAt: String(Math.floor(Date.now() / 1000)), room: { name: room }, participant: { identity } });
    const at = new AccessToken(this.apiKey, this.apiSecret);
    at.sha256 = createHash('sha256').update(body).digest('base64');
    const res = await fetch(this.webhookUrl!, { method: 'POST', headers: { 'content-type': 'application/webhook+json', authorization: await at.toJwt() }, body });
    if (!res.ok) throw new Error(`webhook ${event} answered ${res.status}`);
  }

  /** Egresses by id: the LiveKit room, audio only or not, whether it was stopped, and when it began recording (ms). */
  readonly egresses = new Map<string, { room: string; audioOnly: boolean; stopped: boolean; filepath: string; startedAt: number }>();
  /**
   * The egress's storage, as a hospital shares it with Consilium: when set, an egress writes
   * `egressAudio` to `<egressOutputDir>/<filepath>` when it stops, as LiveKit's egress finalises its file.
   */
  egressOutputDir: string | null = null;
  egressAudio: Uint8Array | null = null;
  /** How long an egress takes to begin recording after it is asked to (a real one starts a compositor first). */
  egressStartDelayMs = 0;
  private egressSeq = 0;

  /**
   * LiveKit's Egress Twirp API (`livekit.Egress/StartRoomCompositeEgress`,
   * `StopEgress`): like the real server, the bearer JWT must carry the
   * `roomRecord` grant (the RoomService's roomAdmin is not enough).
   */
  private async handleEgress(method: string, req: http.IncomingMessage, raw: string, send: (status: number, body: unknown) => void, verifier: TokenVerifier): Promise<void> {
    const parsed = await this.readCall(method, req, raw, send, verifier);
    if (!parsed) return;
    const { body, grants } = parsed;
    if (!grants.video?.roomRecord) {
      this.refused.push({ method, reason: 'missing roomRecord' });
      return send(403, { code: 'permission_denied', msg: 'roomRecord required' });
    }
    if (this.failStatus) return send(this.failStatus, { code: 'internal', msg: 'injected failure' });
    this.calls.push({ method, body, grants });
    if (method === 'StartRoomCompositeEgress') {
      const egressId = `EG_standin_${++this.egressSeq}`;
      const file = (body['file'] ?? (body['fileOutputs'] as unknown[] | undefined)?.[0] ?? {}) as { filepath?: string };
      this.egresses.set(egressId, { room: String(body['roomName']), audioOnly: body['audioOnly'] === true, stopped: false, filepath: String(file.filepath ?? ''), startedAt: Date.now() + this.egressStartDelayMs });
      return send(200, { egressId, roomName: body['roomName'], status: 'EGRESS_STARTING' });
    }
    if (method === 'StopEgress') {
      const e = this.egresses.get(String(body['egressId']));
      if (!e) return send(404, { code: 'not_found', msg: 'egress not found' });
      e.stopped = true;
      if (this.egressOutputDir && this.egressAudio) {
        const file = path.join(this.egressOutputDir, e.filepath);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, this.egressAudio);
      }
      // EgressInfo as proto3 JSON: int64 as a string, nanoseconds.
      return send(200, { egressId: body['egressId'], status: 'EGRESS_ENDING', startedAt: String(BigInt(e.startedAt) * 1_000_000n) });
    }
    return send(404, { code: 'bad_route', msg: `unsupported method ${method}` });
  }

  /** A Twirp call's JSON body and its bearer token's grants, as LiveKit checks them; null once refused (400/401 sent). */
  private async readCall(method: string, req: http.IncomingMessage, raw: string, send: (status: number, body: unknown) => void, verifier: TokenVerifier): Promise<{ body: Record<string, unknown>; grants: ClaimGrants } | null> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw || '{}') as Record<string, unknown>;
    } catch {
      send(400, { code: 'malformed', msg: 'bad json' });
      return null;
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    try {
      if (!auth) throw new Error('no token');
      return { body, grants: await verifier.verify(auth) };
    } catch (err) {
      this.refused.push({ method, reason: String(err) });
      send(401, { code: 'unauthenticated', msg: 'invalid token' });
      return null;
    }
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse, verifier: TokenVerifier): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const egress = /^\/twirp\/livekit\.Egress\/(\w+)$/.exec(req.url ?? '');
    if (req.method === 'POST' && egress) return this.handleEgress(egress[1]!, req, raw, send, verifier);
    const m = /^\/twirp\/livekit\.RoomService\/(\w+)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return send(404, { code: 'bad_route', msg: 'no such method' });
    const method = m[1]!;
    const parsed = await this.readCall(method, req, raw, send, verifier);
    if (!parsed) return;
    const { body, grants } = parsed;
    if (!grants.video?.roomAdmin || grants.video.room !== body['room']) {
      this.refused.push({ method, reason: 'missing roomAdmin for this room' });
      return send(403, { code: 'permission_denied', msg: 'roomAdmin required' });
    }
    if (this.failStatus) return send(this.failStatus, { code: 'internal', msg: 'injected failure' });
    this.calls.push({ method, body, grants });

    const room = this.rooms.get(String(body['room']));
    const p = room?.get(String(body['identity']));
    switch (method) {
      case 'GetParticipant':
        return p ? send(200, { identity: p.identity, tracks: p.tracks }) : send(404, { code: 'not_found', msg: 'participant not found' });
      case 'MutePublishedTrack': {
        const t = p?.tracks.find((x) => x.sid === body['trackSid']);
        if (!t) return send(404, { code: 'not_found', msg: 'track not found' });
        t.muted = body['muted'] === true;
        return send(200, { track: t });
      }
      case 'RemoveParticipant':
        if (!p) return send(404, { code: 'not_found', msg: 'participant not found' });
        room!.delete(p.identity);
        return send(200, {});
      case 'UpdateParticipant':
        if (!p) return send(404, { code: 'not_found', msg: 'participant not found' });
        p.permission = body['permission'];
        p.metadata = String(body['metadata'] ?? '');
        return send(200, { identity: p.identity, metadata: p.metadata, permission: p.permission });
      default:
        return send(404, { code: 'bad_route', msg: `unsupported method ${method}` });
    }
  }
}
