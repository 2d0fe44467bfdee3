import type { SceneObjectState } from '../../../../shared/src/state.ts';
import { isAnnotation } from '../../domain/annotations.ts';
import { type Command, type CommandContext } from './command.ts';
import { ok } from '../types.ts';

/** Clear one's own annotations, or (host) everyone's. Models stay. */
export const guidanceClear: Command<'guidance.clear'> = {
  policyContext({ scope }) {
    return { clearAll: scope === 'all' };
  },
  async run({ scope }, ctx) {
    // Only what the sender may see: nobody acts on objects they cannot see, clearing included.
    const targets = [...ctx.state.objects.values()].filter((o) => isAnnotation(o.kind) && (scope === 'all' || o.createdBy === ctx.actor.userId) && ctx.disclosure.visibleTo(ctx.actor.userId, o));
    return ok({ removed: await removeAnnotations(targets, ctx) });
  },
};

/** Remove annotations (skipping any someone is holding), unbind them, audit it; returns how many went. */
export async function removeAnnotations(objects: SceneObjectState[], { scene, disclosure, state, actor, audit }: CommandContext): Promise<number> {
  let removed = 0;
  for (const obj of objects) {
    if (obj.grabbedBy !== '' && obj.grabbedBy !== actor.sessionId) continue;
    try {
      await scene.remove(obj.id);
    } catch {
      continue;
    }
    disclosure.objectRemoved(obj);
    removed++;
  }
  if (removed > 0) await audit({ actor: actor.userId, action: 'annotation.remove', roomId: state.info.roomId, caseId: disclosure.caseId, details: { objectIds: objects.map((o) => o.id).slice(0, 500), removed } });
  return removed;
}
