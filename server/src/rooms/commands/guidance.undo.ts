import { isRecordedObject } from '../replay-player.ts';
import { isAnnotation } from '../../domain/annotations.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';
import { removeAnnotations } from './guidance.clear.ts';

/** Take back one's own latest annotation. */
export const guidanceUndo: Command<'guidance.undo'> = {
  async run(_payload, ctx) {
    const mine = [...ctx.state.objects.values()].filter((o) => isAnnotation(o.kind) && !isRecordedObject(o.id) && o.createdBy === ctx.actor.userId && ctx.disclosure.visibleTo(ctx.actor.userId, o));
    const last = mine.at(-1);
    if (!last) return fail('OBJECT_NOT_FOUND', 'you have no annotation to undo');
    const { removed } = await removeAnnotations([last], ctx);
    return removed.length === 1 ? ok({ objectId: last.id }) : fail('PERSIST_FAILED', 'your latest annotation could not be removed now (not saved); try again');
  },
};
