import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** The surgeon registers the patient frame; each registration is a new version. Annotations stay put relative to the anatomy. */
export const anchorSet: Command<'anchor.set'> = {
  async run({ pose }, { state, scene, actor, audit, now }) {
    const t = sanitizeTransform({ position: pose.p, rotation: pose.q });
    const a = state.anchor;
    const next = { version: a.version + 1, p: t.position, q: t.rotation, setBy: actor.userId, setAt: now() };
    try {
      await scene.saveAnchor(next);
    } catch {
      return fail('PERSIST_FAILED');
    }
    await audit({ actor: actor.userId, action: 'anchor.set', roomId: state.info.roomId, details: { version: next.version } });
    return ok({ version: next.version });
  },
};
