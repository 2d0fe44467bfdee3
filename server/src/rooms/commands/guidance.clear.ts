import { isRecordedObject } from '../replay-player.ts';
import type { SceneObjectState } from '../../../../shared/src/state.ts';
import { isAnnotation } from '../../domain/annotations.ts';
import { type Command, type CommandContext } from './command.ts';
import { fail, ok } from '../types.ts';

/** Clear one's own annotations, or (host) everyone's. Models stay. */
export const guidanceClear: Command<'guidance.clear'> = {
  policyContext({ scope }) {
    return { clearAll: scope === 'all' };
  },
  async run({ scope }, ctx) {
    // Only what the sender may see: nobody acts on objects they cannot see, clearing included.
    const targets = [...ctx.state.objects.values()].filter((o) => isAnnotation(o.kind) && !isRecordedObject(o.id) && (scope === 'all' || o.createdBy === ctx.actor.userId) && ctx.disclosure.visibleTo(ctx.actor.userId, o));
    const { removed, failed } = await removeAnnotations(targets, ctx);
    // Say exactly what went: all of it failing is an error; a partial clear lists what stayed.
    if (removed.length === 0 && failed.length > 0) return fail('PERSIST_FAILED', `none of the ${failed.length} annotations could be removed now (not saved); try again`);
    return ok({ removed: removed.length, objectIds: removed, ...(failed.length ? { notRemoved: failed } : {}) });
  },
};

/**
 * Remove annotations, unbind them and audit exactly what went. Someone
 * holding one does not keep it on the board: the author's undo and the host's
 * clear win over a hold, which ends with the object (its holder's next move
 * or release finds nothing). Only a database failure keeps one.
 */
export async function removeAnnotations(objects: SceneObjectState[], { scene, disclosure, state, actor, audit }: CommandContext): Promise<{ removed: string[]; failed: string[] }> {
  const removed: string[] = [];
  const failed: string[] = [];
  for (const obj of objects) {
    const heldBy = obj.grabbedBy;
    obj.grabbedBy = '';
    try {
      await scene.remove(obj.id);
    } catch {
      if (scene.get(obj.id) === obj) obj.grabbedBy = heldBy;
      failed.push(obj.id);
      continue;
    }
    disclosure.objectRemoved(obj);
    removed.push(obj.id);
  }
  if (removed.length > 0 || failed.length > 0) {
    await audit({
      actor: actor.userId,
      action: 'annotation.remove',
      ...(removed.length === 0 ? { outcome: 'failure' as const } : {}),
      roomId: state.info.roomId,
      caseId: disclosure.caseId,
      details: { objectIds: removed.slice(0, 500), removed: removed.length, ...(failed.length ? { failedIds: failed.slice(0, 500), failed: failed.length } : {}) },
    });
  }
  return { removed, failed };
}
