import { TokenVerifier } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import { mintVoiceToken, VOICE_TOKEN_TTL_SECONDS, voiceRoomName } from '../../server/src/media/livekit.ts';
import { ROOM_KINDS, ROOM_ROLES, type RoomKind, type RoomRole } from '../../shared/src/index.ts';

const cfg = { url: 'wss://voice.hospital.test', apiUrl: 'https://voice.hospital.test', apiKey: 'APIkey', apiSecret: 'a-secret-of-at-least-thirty-two-chars!!' };
const ROOM = '11111111-2222-4333-8444-555555555555';

/** Expected sources, written out per the issue. */
function expectedSources(role: RoomRole, kind: RoomKind): string[] {
  if (role === 'observer') return [];
  if (role === 'surgeon' && kind === 'surgical-guidance') return ['microphone', 'camera', 'screen_share'];
  return ['microphone'];
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

  it('a token signed with another secret does not verify', async () => {
    const { token } = await mintVoiceToken(cfg, { roomId: ROOM, kind: 'training', userId: 'u', name: 'U', role: 'host' });
    await expect(new TokenVerifier(cfg.apiKey, 'another-secret-of-thirty-two-chars!!!!').verify(token)).rejects.toThrow();
  });
});
