import type { QPose } from '../../../../shared/src/state.ts';
import { quantizePose } from '../../../../shared/src/quantize.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

const assign = (target: QPose, pose: Parameters<typeof quantizePose>[0]) => Object.assign(target, quantizePose(pose));

export const poseUpdate: Command<'pose.update'> = {
  run(payload, { state, actor }) {
    const me = state.participants.get(actor.sessionId);
    if (!me) return fail('NOT_FOUND', 'participant not in room');
    assign(me.head, payload.head);
    me.leftActive = Boolean(payload.left);
    me.rightActive = Boolean(payload.right);
    if (payload.left) assign(me.left, payload.left);
    if (payload.right) assign(me.right, payload.right);
    return ok();
  },
};
