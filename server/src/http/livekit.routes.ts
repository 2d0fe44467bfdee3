import express, { Router } from 'express';
import { TrackSource, WebhookReceiver } from 'livekit-server-sdk';
import type { LiveKitConfig } from '../config.ts';
import type { WebhookEventsRepo } from '../db/webhook-events.repo.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { mediaRoomOf, type VoiceControl } from '../media/livekit.ts';
import type { LiveRooms, VoiceEvent } from '../rooms/live-rooms.ts';

/** Events older than this are refused as replays, as are repeats of an event id. */
const MAX_EVENT_AGE_SECONDS = 300;

/**
 * LiveKit webhooks: the Authorization JWT (signed with the API secret) and the
 * sha256 of the raw body are verified by WebhookReceiver before anything
 * happens. Unsigned, tampered, stale or replayed events get 401 and change nothing.
 * Event ids are remembered in PostgreSQL, so a replay is refused by every process.
 */
export function livekitRoutes(deps: { cfg: LiveKitConfig; live: LiveRooms; logger: Logger; voice: VoiceControl | null; events: WebhookEventsRepo }): Router {
  const router = Router();
  const receiver = new WebhookReceiver(deps.cfg.apiKey, deps.cfg.apiSecret);

  router.post('/api/livekit/webhook', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    let event;
    try {
      event = await receiver.receive(body, req.headers.authorization, false, 10);
    } catch {
      throw new AppError('WEBHOOK_INVALID');
    }
    const now = Date.now() / 1000;
    const createdAt = Number(event.createdAt ?? 0);
    if (!event.id || !createdAt || now - createdAt > MAX_EVENT_AGE_SECONDS || createdAt - now > 30) throw new AppError('WEBHOOK_INVALID', 'stale event');
    // Ids older than the age limit need not be kept: such events are refused as stale anyway.
    await deps.events.prune(MAX_EVENT_AGE_SECONDS + 60).catch((err: unknown) => deps.logger.warn({ err }, 'pruning webhook ids failed'));
    if (!(await deps.events.firstSighting(event.id))) throw new AppError('WEBHOOK_INVALID', 'replayed event');

    const room = event.room ? mediaRoomOf(event.room.name) : null;
    const userId = event.participant?.identity;
    if (room && userId && event.event === 'participant_joined') {
      // A token outlives removals, kicks and demotions: the live room decides whether they may be there now.
      const allowed = await deps.live.call(room.roomId, 'mediaJoined', userId, room.media);
      // Nobody is in the room itself, so nobody may be in its media rooms.
      if (allowed === undefined) await deps.voice?.remove(room.roomId, userId);
    }
    const mapped = mapEvent(event.event, event.track?.source, event.track?.muted);
    if (room?.media === 'voice' && userId && mapped) await deps.live.call(room.roomId, 'voiceEvent', { ...mapped, userId });
    res.json({ ok: true });
  });
  return router;
}

function mapEvent(name: string, source: TrackSource | undefined, muted: boolean | undefined): Omit<VoiceEvent, 'userId'> | null {
  const microphone = source === TrackSource.MICROPHONE;
  switch (name) {
    case 'participant_joined':
      return { kind: 'joined', microphone: false };
    case 'participant_left':
      return { kind: 'left', microphone: false };
    case 'track_published':
      return { kind: 'published', microphone, muted: muted ?? false };
    case 'track_unpublished':
      return { kind: 'unpublished', microphone };
    case 'track_muted':
      return { kind: 'muted', microphone };
    case 'track_unmuted':
      return { kind: 'unmuted', microphone };
    default:
      return null;
  }
}
