import { checkHeld } from '../../domain/scene.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

export const objectRelease: Command<'object.release'> = {
  async run({ objectId, transform }, { scene, actor, disclosure }) {
    const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
    if (!obj) return fail('OBJECT_NOT_FOUND');
    const held = checkHeld(obj, actor.sessionId);
    if (!held.ok) return fail(held.code);
    if (transform) scene.setTransform(obj, sanitizeTransform(transform, [obj.sx, obj.sy, obj.sz]));
    obj.grabbedBy = '';
    // The final placement is durable before the release is acknowledged.
    try {
      await scene.persist(objectId);
    } catch {
      return fail('PERSIST_FAILED', 'released, but the final position is not saved yet; it will be retried');
    }
    return ok({ objectId });
  },
};
