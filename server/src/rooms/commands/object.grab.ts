import { checkGrab } from '../../domain/scene.ts';
import { type Command } from './command.ts';
import { holdStarted, objectFacts } from './object-facts.ts';
import { fail, ok } from '../types.ts';

export const objectGrab: Command<'object.grab'> = {
  policyContext: ({ objectId }, ctx) => objectFacts(objectId, ctx),
  run({ objectId }, { scene, actor, disclosure }) {
    const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
    if (!obj) return fail('OBJECT_NOT_FOUND');
    const lock = checkGrab(obj, actor.sessionId);
    if (!lock.ok) return fail(lock.code);
    if (obj.grabbedBy !== actor.sessionId) holdStarted(obj);
    obj.grabbedBy = actor.sessionId;
    return ok({ objectId });
  },
};
