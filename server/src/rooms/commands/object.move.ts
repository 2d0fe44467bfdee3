import { checkHeld } from '../../domain/scene.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { moveObject, objectFacts } from './object-facts.ts';
import { fail, ok } from '../types.ts';

/** Moves require holding the object: the grab lock is what keeps two people from fighting over it. */
export const objectMove: Command<'object.move'> = {
  policyContext: ({ objectId }, ctx) => objectFacts(objectId, ctx),
  async run({ objectId, transform }, ctx) {
    const obj = ctx.disclosure.visibleTo(ctx.actor.userId, ctx.scene.get(objectId));
    if (!obj) return fail('OBJECT_NOT_FOUND');
    const held = checkHeld(obj, ctx.actor.sessionId);
    if (!held.ok) return fail(held.code);
    await moveObject(obj, sanitizeTransform(transform, [obj.sx, obj.sy, obj.sz]), ctx);
    return ok();
  },
};
