import { resourceVariant } from '../../auth/policy.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** The key of the one shared viewer in `state.viewer`. */
export const SHARED_VIEWER = 'shared';

/**
 * The presenter moves the room's image viewer (series, slice, window, zoom,
 * pan); followers' panels draw what it says. Only numbers and the series' room
 * key travel: each follower fetches pixels through the room with its own
 * access. When nobody presents, any editor may drive it, like a shared lightbox.
 */
export const viewerSet: Command<'viewer.set'> = {
  policyContext(_payload, { state, actor, roster }) {
    const access = roster.member(actor.userId)?.access.data;
    const presenter = state.info.presenter;
    return {
      imagingAccess: access !== undefined && resourceVariant(access, 'ImagingStudy') !== null,
      presenterSelf: presenter === actor.sessionId,
      presenterTakenByOther: presenter !== '' && presenter !== actor.sessionId,
    };
  },
  run(p, { state, actor }) {
    const v = state.viewer.get(SHARED_VIEWER);
    if (!v) return fail('NOT_FOUND');
    if (p.series !== undefined && (p.series ?? '') !== v.series) {
      // Another series starts at its first slice, fitted, unless the message says otherwise.
      v.series = p.series ?? '';
      v.slice = 0;
      v.zoom = 1;
      v.panX = 0;
      v.panY = 0;
    }
    if (p.slice !== undefined) v.slice = p.slice;
    if (p.center !== undefined) v.center = p.center;
    if (p.width !== undefined) v.width = p.width;
    if (p.zoom !== undefined) v.zoom = p.zoom;
    if (p.panX !== undefined) v.panX = p.panX;
    if (p.panY !== undefined) v.panY = p.panY;
    if (p.mode3d !== undefined) v.mode3d = p.mode3d;
    v.by = actor.sessionId;
    v.seq = (v.seq + 1) >>> 0;
    return ok({ seq: v.seq });
  },
};
