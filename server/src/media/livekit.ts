import { AccessToken, RoomServiceClient, TrackSource, type ParticipantPermission } from 'livekit-server-sdk';
import type { RoomKind, RoomRole } from '../../../shared/src/roles.ts';
import { videoGrant, voiceGrant, type MediaSource, type RoomMediaSettings, type VoiceGrant } from '../auth/policy.ts';
import type { LiveKitConfig } from '../config.ts';
import type { Logger } from '../logger.ts';

/** LiveKit room for a Consilium room. */
export const voiceRoomName = (roomId: string) => `consilium-${roomId}`;
/**
 * LiveKit room for the surgeon's camera video of a surgical-guidance room. Separate from the voice
 * room because a LiveKit grant cannot select tracks: whoever is in a room may subscribe to all of it.
 * (Its webhooks are checked for who may be there, never counted as voice events.)
 */
export const videoRoomName = (roomId: string) => `consilium-${roomId}-video`;

/** Which Consilium room, and which of its media rooms, a LiveKit room name is. */
export function mediaRoomOf(name: string): { roomId: string; media: 'voice' | 'video' } | null {
  const m = /^consilium-([0-9a-f-]{36})(-video)?$/.exec(name);
  return m ? { roomId: m[1]!, media: m[2] ? 'video' : 'voice' } : null;
}

export const VOICE_TOKEN_TTL_SECONDS = 600;

const SOURCES: Record<MediaSource, TrackSource> = {
  microphone: TrackSource.MICROPHONE,
  camera: TrackSource.CAMERA,
  screen_share: TrackSource.SCREEN_SHARE,
};

export interface VoiceIdentity {
  roomId: string;
  kind: RoomKind;
  userId: string;
  name: string;
  role: RoomRole;
}

/** A least-privilege LiveKit token (≤ 10 minutes) for one LiveKit room from a grant the policy computed. */
async function mintToken(cfg: LiveKitConfig, room: string, who: VoiceIdentity, grant: VoiceGrant): Promise<{ url: string; token: string }> {
  const at = new AccessToken(cfg.apiKey, cfg.apiSecret, {
    identity: who.userId,
    name: who.name,
    ttl: VOICE_TOKEN_TTL_SECONDS,
    metadata: JSON.stringify({ role: who.role }),
  });
  at.addGrant({
    room,
    roomJoin: true,
    roomAdmin: false,
    roomCreate: false,
    roomRecord: false,
    roomList: false,
    canSubscribe: grant.canSubscribe,
    canPublish: grant.canPublish,
    canPublishData: grant.canPublishData,
    canPublishSources: grant.sources.map((s) => SOURCES[s]),
    canUpdateOwnMetadata: false,
  });
  return { url: cfg.url, token: await at.toJwt() };
}

/** The voice room token: every participant gets one (observers listen only). */
export function mintVoiceToken(cfg: LiveKitConfig, who: VoiceIdentity): Promise<{ url: string; token: string }> {
  return mintToken(cfg, voiceRoomName(who.roomId), who, voiceGrant(who.role, who.kind));
}

/** The video room token, or null when the policy gives this participant no video (videoGrant). */
export async function mintVideoToken(cfg: LiveKitConfig, who: VoiceIdentity, settings: RoomMediaSettings): Promise<{ url: string; token: string } | null> {
  const grant = videoGrant(who.role, who.kind, settings);
  return grant ? mintToken(cfg, videoRoomName(who.roomId), who, grant) : null;
}

/** A participant's LiveKit tokens, as the ticket route hands them out. */
export interface MediaTokens {
  voice(who: VoiceIdentity): Promise<{ url: string; token: string }>;
  video(who: VoiceIdentity, settings: RoomMediaSettings): Promise<{ url: string; token: string } | null>;
}

export const mediaTokens = (cfg: LiveKitConfig): MediaTokens => ({
  voice: (who) => mintVoiceToken(cfg, who),
  video: (who, settings) => mintVideoToken(cfg, who, settings),
});

const permissionOf = (grant: VoiceGrant): Partial<ParticipantPermission> => ({
  canSubscribe: grant.canSubscribe,
  canPublish: grant.canPublish,
  canPublishData: grant.canPublishData,
  canPublishSources: grant.sources.map((s) => SOURCES[s]),
  canUpdateMetadata: false,
});

export function voicePermission(role: RoomRole, kind: RoomKind): Partial<ParticipantPermission> {
  return permissionOf(voiceGrant(role, kind));
}

export type VoiceStatus = 'ok' | 'degraded';

interface Op {
  key: string;
  run: () => Promise<void>;
  attempts: number;
  firstTried: number;
}

/**
 * Keeps LiveKit in step with Consilium: moderation and permission changes go
 * through one queue. A call that fails (LiveKit down or 5xx) marks voice as
 * degraded and is retried with backoff until it succeeds or is superseded by
 * a newer operation on the same participant; the Colyseus room never waits.
 */
export class VoiceControl {
  private readonly client: RoomServiceClient;
  private readonly pending = new Map<string, Op>();
  private timer: NodeJS.Timeout | null = null;
  private statusValue: VoiceStatus = 'ok';
  private readonly listeners = new Set<(s: VoiceStatus) => void>();
  private stopped = false;

  constructor(
    cfg: LiveKitConfig,
    private readonly logger: Logger,
    private readonly retry = { baseMs: 250, maxMs: 5000, giveUpMs: 10 * 60_000 },
  ) {
    // No region failover: it would replay signed calls to origins a /settings/regions answer names (LiveKit Cloud only, and
    // already off under a 5 s timeout; explicit so a longer timeout cannot turn it on). The SDK's fetch takes no other options.
    this.client = new RoomServiceClient(cfg.apiUrl, cfg.apiKey, cfg.apiSecret, { requestTimeout: 3, failover: false });
  }

  get status(): VoiceStatus {
    return this.statusValue;
  }

  onStatus(listener: (s: VoiceStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Mute or unmute the participant's microphone track(s). */
  setMicMuted(roomId: string, userId: string, muted: boolean): Promise<boolean> {
    const room = voiceRoomName(roomId);
    return this.submit(`mic:${room}:${userId}`, async () => {
      const p = await this.client.getParticipant(room, userId);
      const mics = (p.tracks ?? []).filter((t) => t.source === TrackSource.MICROPHONE);
      for (const t of mics) await this.client.mutePublishedTrack(room, userId, t.sid, muted);
    });
  }

  /** End the participant's media sessions (voice and video) now, whatever their tokens say. */
  remove(roomId: string, userId: string): Promise<boolean> {
    const rooms = [videoRoomName(roomId), voiceRoomName(roomId)];
    for (const room of rooms) this.pending.delete(`perm:${room}:${userId}`);
    return this.submit(`remove:${voiceRoomName(roomId)}:${userId}`, async () => {
      for (const room of rooms) await this.removeFrom(room, userId);
    });
  }

  /** Mirror a role change: the participant's live permissions follow the policy. */
  updatePermissions(roomId: string, kind: RoomKind, userId: string, role: RoomRole): Promise<boolean> {
    const room = voiceRoomName(roomId);
    return this.submit(`perm:${room}:${userId}`, async () => {
      try {
        await this.client.updateParticipant(room, userId, { metadata: JSON.stringify({ role }), permission: voicePermission(role, kind) });
      } catch (err) {
        if (isNotFound(err)) return; // not connected: their next token carries the new grant
        throw err;
      }
    });
  }

  /**
   * Mirror the video policy onto a live participant of the video room: without a grant
   * (videoGrant → null: an observer when the room stops allowing it, a demoted role) they are
   * removed from it now; with one, their permissions follow it.
   */
  updateVideo(roomId: string, userId: string, role: RoomRole, grant: VoiceGrant | null): Promise<boolean> {
    const room = videoRoomName(roomId);
    return this.submit(`perm:${room}:${userId}`, async () => {
      if (!grant) return this.removeFrom(room, userId);
      try {
        await this.client.updateParticipant(room, userId, { metadata: JSON.stringify({ role }), permission: permissionOf(grant) });
      } catch (err) {
        if (isNotFound(err)) return; // not watching: their next token carries the grant
        throw err;
      }
    });
  }

  private async removeFrom(room: string, userId: string): Promise<void> {
    try {
      await this.client.removeParticipant(room, userId);
    } catch (err) {
      if (isNotFound(err)) return; // not in that media room: nothing to end
      throw err;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.pending.clear();
  }

  /** Try now; on failure keep it (latest per key wins) for the retry loop. Resolves true when applied now. */
  private async submit(key: string, run: () => Promise<void>): Promise<boolean> {
    const op: Op = { key, run, attempts: 0, firstTried: Date.now() };
    this.pending.set(key, op);
    return this.attempt(op);
  }

  private async attempt(op: Op): Promise<boolean> {
    op.attempts++;
    try {
      await op.run();
      if (this.pending.get(op.key) === op) this.pending.delete(op.key);
      if (this.pending.size === 0) this.setStatus('ok');
      return true;
    } catch (err) {
      if (isClientError(err)) {
        // A 4xx will not get better by retrying.
        this.logger.warn({ err: String(err), op: op.key }, 'LiveKit refused a request');
        if (this.pending.get(op.key) === op) this.pending.delete(op.key);
        return false;
      }
      this.logger.warn({ err: String(err), op: op.key, attempts: op.attempts }, 'LiveKit unreachable; will retry');
      this.setStatus('degraded');
      this.scheduleRetry();
      return false;
    }
  }

  private scheduleRetry(): void {
    if (this.timer || this.stopped) return;
    const attempts = Math.max(1, ...[...this.pending.values()].map((o) => o.attempts));
    const delay = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempts - 1));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.retryAll();
    }, delay);
    this.timer.unref();
  }

  private async retryAll(): Promise<void> {
    for (const op of [...this.pending.values()]) {
      if (Date.now() - op.firstTried > this.retry.giveUpMs) {
        this.logger.error({ op: op.key }, 'LiveKit operation abandoned after retrying');
        this.pending.delete(op.key);
        continue;
      }
      if (this.pending.get(op.key) === op) await this.attempt(op);
    }
    if (this.pending.size > 0) this.scheduleRetry();
    else this.setStatus('ok');
  }

  private setStatus(s: VoiceStatus): void {
    if (s === this.statusValue) return;
    this.statusValue = s;
    this.listeners.forEach((l) => l(s));
  }
}

function twirpStatus(err: unknown): number | undefined {
  const e = err as { status?: unknown; code?: unknown };
  return typeof e?.status === 'number' ? e.status : undefined;
}
const isNotFound = (err: unknown) => twirpStatus(err) === 404 || (err as { code?: unknown })?.code === 'not_found';
const isClientError = (err: unknown) => {
  const s = twirpStatus(err);
  return s !== undefined && s >= 400 && s < 500;
};
