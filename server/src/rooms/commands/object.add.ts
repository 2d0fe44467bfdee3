import { randomUUID } from 'node:crypto';
import { CaseResourceType } from '../../../../shared/src/fhir.ts';
import { Limits } from '../../../../shared/src/protocol.ts';
import { accessToScope, resourceVariant } from '../../auth/policy.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

/** Annotation kinds may quote patient data in their shape or text, so they carry the author's access (as does any labelled object). */
const ANNOTATION_KINDS = new Set(['label', 'marker', 'stroke']);
const LIMIT = 50; // stroke points are clamped to ±50 m of their origin, mm precision
const encodePoints = (pts: number[]) => pts.map((v) => (Math.max(-LIMIT, Math.min(LIMIT, v)).toFixed(3))).join(',');

export const objectAdd: Command<'object.add'> = {
  async run(payload, { scene, disclosure, roster, actor }) {
    if (scene.size >= Limits.maxObjects) return fail('SCENE_FULL');
    if ((payload.kind === 'stroke') !== (payload.points !== undefined)) return fail('MESSAGE_INVALID', 'strokes, and only strokes, carry points');
    const id = payload.id ?? randomUUID();
    if (scene.get(id)) return fail('OBJECT_EXISTS');
    const access = roster.member(actor.userId)?.access.data;
    if (!access) return fail('FORBIDDEN');
    if (payload.resourceRef) {
      const [type, resourceId] = payload.resourceRef.split('/') as [string, string];
      const parsed = CaseResourceType.parse(type);
      if (!disclosure.hasResource(parsed, resourceId)) return fail('NOT_FOUND', 'the room case has no such resource');
      if (resourceVariant(access, parsed) === null) return fail('SCOPE_DENIED');
    }
    const t = sanitizeTransform(payload.transform);
    let obj;
    try {
      obj = await scene.add({
        id,
        kind: payload.kind,
        asset: payload.asset,
        label: payload.label ?? '',
        createdBy: actor.userId,
        // Without a case in the room there is no patient data to quote: annotations are for everyone.
        authorScope: (ANNOTATION_KINDS.has(payload.kind) || Boolean(payload.label)) && disclosure.caseId ? accessToScope(access) : '',
        resourceRef: payload.resourceRef ?? '',
        points: payload.points ? encodePoints(payload.points) : '',
        color: payload.color ?? '',
        px: t.position[0], py: t.position[1], pz: t.position[2],
        qx: t.rotation[0], qy: t.rotation[1], qz: t.rotation[2], qw: t.rotation[3],
        sx: t.scale[0], sy: t.scale[1], sz: t.scale[2],
      });
    } catch {
      return fail('PERSIST_FAILED');
    }
    disclosure.objectAdded(obj);
    return ok({ objectId: id });
  },
};
