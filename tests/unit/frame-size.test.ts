import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ClientMessages } from '../../shared/src/messages.ts';
import { Limits } from '../../shared/src/protocol.ts';

/**
 * The WebSocket frame limit is sized from the largest valid message: the
 * largest stroke (300 points, every number a float64) with the longest label
 * in 3-byte characters, framed as a request, must fit.
 */
describe('frame size limit', () => {
  it('fits the largest valid message with room to spare, and is not needlessly large', () => {
    const points = Array.from({ length: 900 }, (_, i) => i * 1.0000001 + 0.1234567);
    const stroke = {
      id: 'x'.repeat(64),
      kind: 'stroke',
      asset: `builtin:${'a'.repeat(64)}`,
      label: '\u20ac'.repeat(500), // 3 bytes each in UTF-8
      points,
      color: '#abcdef',
      transform: { position: [1.1, 2.2, 3.3], rotation: [0.1, 0.2, 0.3, 0.9], scale: [1.5, 1.5, 1.5] },
    };
    expect(ClientMessages['object.add'].safeParse(stroke).success).toBe(true);
    const reason = '\u20ac'.repeat(500);
    expect(ClientMessages['access.breakGlass'].safeParse({ resourceTypes: ['Observation'], reason }).success).toBe(true);
    // Frame: 1 protocol byte + request id + type string + msgpack payload.
    const frame = (type: string, payload: unknown) => 1 + 9 + 1 + type.length + pack(payload).byteLength;
    const largest = Math.max(frame('object.add', stroke), frame('access.breakGlass', { resourceTypes: ['Observation'], reason }));
    expect(largest).toBeLessThan(Limits.maxFrameBytes);
    expect(Limits.maxFrameBytes).toBeLessThanOrEqual(2 * largest + 1024);
  });
});
