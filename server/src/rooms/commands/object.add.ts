import { randomUUID } from 'node:crypto';
import { Limits } from '../../../../shared/src/protocol.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { fail, ok, type Command } from './command.ts';

export const objectAdd: Command<'object.add'> = {
  async run(payload, { scene, actor }) {
    if (scene.size >= Limits.maxObjects) return fail('SCENE_FULL');
    const id = payload.id ?? randomUUID();
    if (scene.get(id)) return fail('OBJECT_EXISTS');
    const t = sanitizeTransform(payload.transform);
    try {
      await scene.add({
        id,
        kind: payload.kind,
        asset: payload.asset,
        label: payload.label ?? '',
        createdBy: actor.userId,
        px: t.position[0], py: t.position[1], pz: t.position[2],
        qx: t.rotation[0], qy: t.rotation[1], qz: t.rotation[2], qw: t.rotation[3],
        sx: t.scale[0], sy: t.scale[1], sz: t.scale[2],
      });
    } catch {
      return fail('PERSIST_FAILED');
    }
    return ok({ objectId: id });
  },
};
