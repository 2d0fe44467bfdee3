import { isAnnotation } from '../../domain/annotations.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** The surgeon puts an annotation out of their view (it stays on record, acknowledged). */
export const guidanceDismiss: Command<'guidance.dismiss'> = {
  async run({ objectId }, { scene, state, actor, audit, now, disclosure }) {
    const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
    if (!obj || !isAnnotation(obj.kind)) return fail('OBJECT_NOT_FOUND');
    obj.dismissed = true;
    if (obj.ackedAt === 0) {
      obj.ackedAt = now();
      obj.ackedBy = actor.userId;
    }
    obj.focused = false;
    await scene.persist(objectId).catch(() => {});
    await audit({ actor: actor.userId, action: 'guidance.dismiss', roomId: state.info.roomId, caseId: disclosure.caseId, details: { objectId } });
    return ok({ objectId });
  },
};
