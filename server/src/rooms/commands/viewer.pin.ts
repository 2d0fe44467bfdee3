import { resourceVariant } from '../../auth/policy.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { SHARED_VIEWER } from './viewer.set.ts';
import { fail, ok } from '../types.ts';

/** A pinned panel further than this from the registered anchor (m) is kept at this distance: it belongs at the patient. */
export const PIN_MAX_METRES = 2;

/**
 * Surgical guidance: pin the room's slice as a panel in the patient frame, move it, or take it down.
 * Only the pose travels: the surgeon's headset draws whatever slice the shared viewer shows, fetched
 * through the room with its own access, and the pin lives in the viewer state, which only those who
 * may see the images receive (disclosure.ts).
 */
export const viewerPin: Command<'viewer.pin'> = {
  policyContext(_payload, { actor, roster }) {
    const access = roster.member(actor.userId)?.access.data;
    return { imagingAccess: access !== undefined && resourceVariant(access, 'ImagingStudy') !== null };
  },
  run({ pose }, { state, actor }) {
    const v = state.viewer.get(SHARED_VIEWER);
    if (!v) return fail('NOT_FOUND');
    if (pose === null) {
      v.pinBy = '';
    } else {
      const t = sanitizeTransform({ position: pose.p, rotation: pose.q });
      const d = Math.hypot(...t.position);
      const k = d > PIN_MAX_METRES ? PIN_MAX_METRES / d : 1;
      [v.pinPx, v.pinPy, v.pinPz] = t.position.map((c) => Math.fround(c * k)) as [number, number, number];
      [v.pinQx, v.pinQy, v.pinQz, v.pinQw] = t.rotation;
      v.pinBy = actor.sessionId;
    }
    // Not a change of the view (by and seq stay): followers keep following what the presenter shows.
    return ok({ pinned: v.pinBy !== '' });
  },
};
