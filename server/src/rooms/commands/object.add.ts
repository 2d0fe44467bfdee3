import { isRecordedObject } from '../replay-player.ts';
import { randomUUID } from 'node:crypto';
import { CaseResourceType } from '../../../../shared/src/fhir.ts';
import { Limits } from '../../../../shared/src/protocol.ts';
import { accessToScope, resourceVariant } from '../../auth/policy.ts';
import { encodePoints, isAnnotation, pointsProblem, sliceAnnotationProblem } from '../../domain/annotations.ts';
import { sanitizeTransform } from '../../domain/transform.ts';
import { type Command } from './command.ts';
import { fail, ok } from '../types.ts';

export const objectAdd: Command<'object.add'> = {
  async run(payload, { scene, disclosure, roster, actor, audit, now, state, links }) {
    if (scene.size >= Limits.maxObjects) return fail('SCENE_FULL');
    const problem = pointsProblem(payload.kind, payload.points);
    if (problem) return fail('MESSAGE_INVALID', problem);
    const frame = payload.frame ?? 'world';
    if (frame !== 'world' && !isAnnotation(payload.kind)) return fail('MESSAGE_INVALID', 'only annotations live in the patient or video frame');
    const sliceProblem = sliceAnnotationProblem(payload.kind, frame, payload.slice);
    if (sliceProblem) return fail('MESSAGE_INVALID', sliceProblem);
    const id = payload.id ?? randomUUID();
    // The recording's objects live under their own prefix: nobody adds into it.
    if (scene.get(id) || isRecordedObject(id)) return fail('OBJECT_EXISTS');
    let mine = 0;
    state.objects.forEach((o) => void (o.createdBy === actor.userId && mine++));
    if (mine >= Limits.maxObjectsPerAuthor) return fail('SCENE_FULL', `you have ${Limits.maxObjectsPerAuthor} objects in this scene; remove some first`);
    const access = roster.member(actor.userId)?.access.data;
    if (!access) return fail('FORBIDDEN');
    // A mark on a slice names a series: only those who may see the images draw on them.
    if (frame === 'slice' && resourceVariant(access, 'ImagingStudy') === null) return fail('SCOPE_DENIED');
    if (payload.resourceRef) {
      const [type, resourceId] = payload.resourceRef.split('/') as [string, string];
      const parsed = CaseResourceType.parse(type);
      if (!disclosure.hasResource(parsed, resourceId)) return fail('NOT_FOUND', 'the room case has no such resource');
      if (resourceVariant(access, parsed) === null) return fail('SCOPE_DENIED');
    }
    const t = sanitizeTransform(payload.transform);
    const annotation = isAnnotation(payload.kind);
    let obj;
    try {
      obj = await scene.add({
        id,
        kind: payload.kind,
        asset: payload.asset,
        label: payload.label ?? '',
        createdBy: actor.userId,
        // Free text — a label, a client-chosen id, an uploaded asset's name — may quote the patient: it carries
        // the author's access (policy.ts objectTextVisible / objectVisible); the geometry reaches everyone.
        // Also in a room without a case: people write what they know, and a case may be linked later.
        authorScope: annotation || Boolean(payload.label) || payload.id !== undefined || payload.asset.startsWith('asset:') ? accessToScope(access) : '',
        resourceRef: payload.resourceRef ?? '',
        points: payload.points ? encodePoints(payload.points, frame) : '',
        color: payload.color ?? '',
        frame,
        // The server's clock, never the client's `sentAt` (accepted and ignored): a wrong or forged clock
        // must not make guidance look fresher (or older) than it is.
        sentAt: now(),
        videoTime: payload.videoTime ?? 0,
        ackedAt: 0,
        ackedBy: '',
        dismissed: false,
        slice: payload.slice ? `${payload.slice.series}/${payload.slice.index}` : '',
        px: t.position[0], py: t.position[1], pz: t.position[2],
        qx: t.rotation[0], qy: t.rotation[1], qz: t.rotation[2], qw: t.rotation[3],
        sx: t.scale[0], sy: t.scale[1], sz: t.scale[2],
      });
    } catch {
      return fail('PERSIST_FAILED');
    }
    disclosure.objectAdded(obj);
    if (annotation) {
      if (state.info.kind === 'surgical-guidance') links.guiding(actor.sessionId);
      await audit({ actor: actor.userId, action: 'annotation.add', roomId: state.info.roomId, caseId: disclosure.caseId, details: { objectId: id, kind: payload.kind, frame, at: now() } });
    }
    return ok({ objectId: id });
  },
};
