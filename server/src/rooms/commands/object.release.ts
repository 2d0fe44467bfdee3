import { checkHeld } from '../../domain/scene.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { moveObject, objectFacts } from './object-facts.ts';
import { fail, ok } from '../types.ts';

export const objectRelease: Command<'object.release'> = {
  policyContext: ({ objectId }, ctx) => objectFacts(objectId, ctx),
  async run({ objectId, transform }, ctx) {
    const { scene, actor, disclosure } = ctx;
    const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
    if (!obj) return fail('OBJECT_NOT_FOUND');
    const held = checkHeld(obj, actor.sessionId);
    if (!held.ok) return fail(held.code);
    if (transform) await moveObject(obj, sanitizeTransform(transform, [obj.sx, obj.sy, obj.sz]), ctx);
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
