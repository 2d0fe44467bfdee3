import { TokenVerifier } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import { mintVideoToken, mintVoiceToken, VOICE_TOKEN_TTL_SECONDS, videoRoomName, voiceRoomName } from '../../server/src/media/livekit.ts';
import { ROOM_KINDS, ROOM_ROLES, type RoomKind, type RoomRole } from '../../shared/src/index.ts';

const cfg = { url: 'wss://voice.hospital.test', apiUrl: 'https://voice.hospital.test', apiKey: 'APIkey', apiSecret: 'a-secret-of-at-least-thirty-two-chars!!' };
const ROOM = '11111111-2222-4333-8444-555555555555';

/** Expected voice sources, written out per the issue: the voice room carries speech only (video has its own room). */
function expectedSources(role: RoomRole, _kind: RoomKind): string[] {
  if (role === 'observer') return [];
  return ['microphone'];
}

/** Expected video room grant: null = no token at all. */
function expectedVideo(role: RoomRole, kind: RoomKind, observerVideo: boolean): { publish: string[]; subscribe: boolean } | null {
  if (kind !== 'surgical-guidance') return null;
  if (role === 'surgeon') return { publish: ['camera', 'screen_share'], subscribe: false };
  if (role === 'observer') return observerVideo ? { publish: [], subscribe: true } : null;
  return { publish: [], subscribe: true };
}

describe('LiveKit tokens: role × room kind', () => {
  for (const role of ROOM_ROLES) {
    for (const kind of ROOM_KINDS) {
      it(`${role} in ${kind}`, async () => {
        const { url, token } = await mintVoiceToken(cfg, { roomId: ROOM, kind, userId: 'u.1', name: 'Dr One', role });
        expect(url).toBe(cfg.url);
        const claims = await new TokenVerifier(cfg.apiKey, cfg.apiSecret).verify(token);
        expect(claims.sub).toBe('u.1');
        expect(claims.name).toBe('Dr One');
        expect(JSON.parse(claims.metadata!)).toEqual({ role });
        const v = claims.video!;
        expect(v.room).toBe(voiceRoomName(ROOM));
        expect(v.roomJoin).toBe(true);
        expect(v.roomAdmin).toBe(false);
        expect(v.roomCreate).toBe(false);
        expect(v.roomRecord).toBe(false);
        expect(v.roomList).toBe(false);
        expect(v.canSubscribe).toBe(true);
        expect(v.canPublish).toBe(role !== 'observer');
        expect(v.canPublishData).toBe(false);
        expect([...(v.canPublishSources ?? [])].map(String).sort()).toEqual(expectedSources(role, kind).sort());
        const ttl = (claims.exp as number) - (claims.nbf as number);
        expect(ttl).toBeLessThanOrEqual(VOICE_TOKEN_TTL_SECONDS);
        expect(VOICE_TOKEN_TTL_SECONDS).toBeLessThanOrEqual(600);
      });
    }
  }

  for (const observerVideo of [false, true]) {
    it(`video room tokens, every role and kind (observerVideo ${observerVideo})`, async () => {
      for (const role of ROOM_ROLES) {
        for (const kind of ROOM_KINDS) {
          const minted = await mintVideoToken(cfg, { roomId: ROOM, kind, userId: 'u.1', name: 'Dr One', role }, { observerVideo });
          const want = expectedVideo(role, kind, observerVideo);
          if (!want) {
            expect(minted, `${role} in ${kind}`).toBeNull();
            continue;
          }
          const v = (await new TokenVerifier(cfg.apiKey, cfg.apiSecret).verify(minted!.token)).video!;
          expect(v.room).toBe(videoRoomName(ROOM));
          expect({ admin: v.roomAdmin, create: v.roomCreate, record: v.roomRecord, list: v.roomList, data: v.canPublishData }).toEqual({ admin: false, create: false, record: false, list: false, data: false });
          expect(v.canSubscribe, `${role} in ${kind}`).toBe(want.subscribe);
          expect(v.canPublish).toBe(want.publish.length > 0);
          expect([...(v.canPublishSources ?? [])].map(String).sort()).toEqual(want.publish);
        }
      }
    });
  }

  it('a token signed with another secret does not verify', async () => {
    const { token } = await mintVoiceToken(cfg, { roomId: ROOM, kind: 'training', userId: 'u', name: 'U', role: 'host' });
    await expect(new TokenVerifier(cfg.apiKey, 'another-secret-of-thirty-two-chars!!!!').verify(token)).rejects.toThrow();
  });
});
