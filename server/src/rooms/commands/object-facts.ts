import { isRecordedObject } from '../replay-player.ts';
import type { SceneObjectState } from '../../../../shared/src/state.ts';
import { objectContext, type RoomActionContext } from '../../auth/policy.ts';
import { isAnnotation } from '../../domain/annotations.ts';
import type { SafeTransform } from '../../domain/transform.ts';
import type { CommandContext } from './command.ts';

/**
 * What the policy needs to know about the object a grab, move or release
 * targets: who added it and whether it is an annotation. An object the sender
 * cannot see yields no facts, so the command answers OBJECT_NOT_FOUND rather
 * than the policy revealing that it exists.
 */
export function objectFacts(objectId: string, { scene, disclosure, actor }: CommandContext): RoomActionContext {
  const obj = disclosure.visibleTo(actor.userId, scene.get(objectId));
  return obj ? { ...objectContext(obj, actor.userId), recorded: isRecordedObject(obj.id) } : {};
}

/** Annotations whose current hold has already been audited as a move (cleared at each grab). */
const auditedHolds = new WeakSet<SceneObjectState>();

/** A new hold begins: its first move will be audited. */
export function holdStarted(obj: SceneObjectState): void {
  auditedHolds.delete(obj);
}

/** Does the (float32) synced transform already equal `t`? */
function sameTransform(obj: SceneObjectState, t: SafeTransform): boolean {
  const now = [obj.px, obj.py, obj.pz, obj.qx, obj.qy, obj.qz, obj.qw, obj.sx, obj.sy, obj.sz];
  return [...t.position, ...t.rotation, ...t.scale].every((v, i) => Math.fround(v) === Math.fround(now[i]!));
}

/**
 * Move an object the sender holds. Moving a guidance annotation makes it new
 * guidance: whatever the surgeon acknowledged or dismissed was the old
 * placement, so the acknowledgement and dismissal are cleared and `sentAt`
 * becomes the server's time of the move (the age clients show starts again).
 * The first move of each hold is audited (`annotation.move`), with whether an
 * acknowledgement was withdrawn. Returns whether anything changed.
 */
export async function moveObject(obj: SceneObjectState, t: SafeTransform, { scene, state, actor, audit, now, disclosure, links }: CommandContext): Promise<boolean> {
  if (sameTransform(obj, t)) return false;
  scene.setTransform(obj, t);
  if (!isAnnotation(obj.kind) || state.info.kind !== 'surgical-guidance') return true;
  const ackReset = obj.ackedAt !== 0 || obj.dismissed;
  const previousAck = ackReset ? { ackedAt: obj.ackedAt, ackedBy: obj.ackedBy, dismissed: obj.dismissed } : null;
  if (obj.ackedAt !== 0) obj.ackedAt = 0;
  if (obj.ackedBy !== '') obj.ackedBy = '';
  if (obj.dismissed) obj.dismissed = false;
  obj.sentAt = now();
  links.guiding(actor.sessionId);
  if (!auditedHolds.has(obj) || ackReset) {
    auditedHolds.add(obj);
    await audit({
      actor: actor.userId,
      action: 'annotation.move',
      roomId: state.info.roomId,
      caseId: disclosure.caseId,
      details: { objectId: obj.id, kind: obj.kind, frame: obj.frame, at: obj.sentAt, ...(previousAck ? { acknowledgementWithdrawn: previousAck } : {}) },
    });
  }
  return true;
}
