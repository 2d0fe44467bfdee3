import { isRecordedObject } from '../replay-player.ts';
import { checkRemovable } from '../../domain/scene.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

export const objectRemove: Command<'object.remove'> = {
  policyContext({ objectId }, { scene, actor }) {
    return { ownsObject: scene.get(objectId)?.createdBy === actor.userId, recorded: isRecordedObject(objectId) };
  },
  async run({ objectId }, { scene, disclosure, actor }) {
    const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
    if (!obj) return fail('OBJECT_NOT_FOUND');
    const lock = checkRemovable(obj, actor.sessionId);
    if (!lock.ok) return fail(lock.code);
    try {
      await scene.remove(objectId);
    } catch {
      return fail('PERSIST_FAILED');
    }
    disclosure.objectRemoved(obj);
    return ok({ objectId });
  },
};
