import { isAnnotation } from '../../domain/annotations.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** "Seen": the surgeon acknowledges an annotation hands-free; specialists see when. */
export const guidanceAck: Command<'guidance.ack'> = {
  async run({ objectId }, { scene, state, actor, audit, now, disclosure }) {
    const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
    if (!obj || !isAnnotation(obj.kind)) return fail('OBJECT_NOT_FOUND');
    if (obj.ackedAt === 0) {
      obj.ackedAt = now();
      obj.ackedBy = actor.userId;
      await scene.persist(objectId).catch(() => {});
      await audit({ actor: actor.userId, action: 'guidance.ack', roomId: state.info.roomId, caseId: disclosure.caseId, details: { objectId } });
    }
    return ok({ objectId, ackedAt: obj.ackedAt });
  },
};
