import { checkHeld } from '../../domain/scene.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** Moves require holding the object: the grab lock is what keeps two people from fighting over it. */
export const objectMove: Command<'object.move'> = {
  run({ objectId, transform }, { scene, actor, disclosure }) {
    const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
    if (!obj) return fail('OBJECT_NOT_FOUND');
    const held = checkHeld(obj, actor.sessionId);
    if (!held.ok) return fail(held.code);
    scene.setTransform(obj, sanitizeTransform(transform, [obj.sx, obj.sy, obj.sz]));
    return ok();
  },
};
