import { describe, expect, it } from 'vitest';
import { ageLine } from '../../client/src/app/ar/annotation-view.ts';
import { acknowledgementText, acknowledgerOf, annotationAgeMs, videoStrokeIsOld } from '../../shared/src/guidance.ts';
import { SceneObjectState } from '../../shared/src/state.ts';

/** What the specialist's panel and the surgeon's headset say about an annotation: who acknowledged it, and its age on the server's clock. */
const people = [
  { userId: 'dr.cut', name: 'Dr. Cut', role: 'surgeon' },
  { userId: 'dr.adams', name: 'Dr. Adams', role: 'host' },
  { userId: 'dr.adams', name: 'Dr. Adams', role: 'host' }, // a second seat of the same person
];
const at = (ms: number) => `@${ms}`;

describe('acknowledgement text', () => {
  it('names who acknowledged: "Seen" only for a surgeon, "Acknowledged" for a host, the user id once they left', () => {
    const o = { ackedAt: 1000, ackedBy: 'dr.cut', dismissed: false };
    expect(acknowledgementText(o, acknowledgerOf(people, 'dr.cut'), at)).toBe('Seen by Dr. Cut (surgeon) @1000');
    const byHost = { ackedAt: 2000, ackedBy: 'dr.adams', dismissed: false };
    expect(acknowledgementText(byHost, acknowledgerOf(people, 'dr.adams'), at)).toBe('Acknowledged by Dr. Adams (host) @2000');
    expect(acknowledgementText(byHost, acknowledgerOf(people, 'dr.adams'), at)).not.toMatch(/seen|surgeon/i);
    expect(acknowledgementText({ ...byHost, ackedBy: 'dr.gone' }, acknowledgerOf(people, 'dr.gone'), at)).toBe('Acknowledged by dr.gone @2000');
    expect(acknowledgementText({ ...o, dismissed: true }, acknowledgerOf(people, 'dr.cut'))).toBe('Seen by Dr. Cut (surgeon) · dismissed');
    expect(acknowledgementText({ ackedAt: 0, ackedBy: '', dismissed: false }, undefined, at)).toBe('');
  });

  it("the headset's line says the same, from the synced object", () => {
    const obj = new SceneObjectState();
    obj.sentAt = 50_000;
    const clock = { serverNow: 62_000, who: (u: string) => acknowledgerOf(people, u) };
    expect(ageLine(obj, false, clock)).toBe('12 s ago');
    expect(ageLine(obj, true, clock)).toBe('12 s ago · in focus');
    obj.ackedAt = 61_000;
    obj.ackedBy = 'dr.adams';
    expect(ageLine(obj, true, clock)).toBe('12 s ago · Acknowledged by Dr. Adams (host)');
    obj.ackedBy = 'dr.cut';
    expect(ageLine(obj, false, clock)).toBe('12 s ago · Seen by Dr. Cut (surgeon)');
  });
});

describe('annotation age', () => {
  it("is told on the server's clock as estimated, whatever this device's clock says; unknown is never fresh", () => {
    expect(annotationAgeMs(1_000_000, 1_012_000)).toBe(12_000);
    expect(videoStrokeIsOld(annotationAgeMs(1_000_000, 1_012_000), false)).toBe(true);
    expect(annotationAgeMs(1_000_000, 999_000)).toBe(0); // clock estimate a little behind: "just now", not negative
    expect(annotationAgeMs(0, 1_000_000)).toBe(Infinity);
    expect(videoStrokeIsOld(annotationAgeMs(0, 1_000_000), false)).toBe(true);
  });
});
