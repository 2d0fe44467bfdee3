import { poseToPatientFrame, type FramePose } from '../../../../shared/src/patient-frame.ts';
import { authorizeRoomAction } from '../../../../shared/src/room-policy.ts';
import { RoomKind, RoomRole } from '../../../../shared/src/roles.ts';
import type { ClinicSession } from '../../sdk/session.ts';
import type { ViewerController } from '../imaging/viewer-controller.ts';

/** What the panel uses of the SDK session (a FakeSession drives it in unit tests). */
export type SlicePanelSession = Pick<ClinicSession, 'sessionId' | 'state' | 'request'> & { guidance: Pick<ClinicSession['guidance'], 'anchor'> };
/** What it uses of the room's image viewer: whether this participant may see images at all. */
export type PanelImaging = Pick<ViewerController, 'available'>;

/** Where the remote guide's "Pin" puts the panel (patient frame): to the surgeon's right of the site, raised, facing the surgeon. */
export const DEFAULT_PIN: FramePose = { p: [0.3, 0.2, 0], q: [0, 0, 0, 1] };
/** The panel's width in the room (m); its height follows the image. */
export const PANEL_WIDTH = 0.24;
/** Pinned by gaze: the panel's lower edge this far above where the surgeon looks, so it never hides that spot. */
export const GAZE_LIFT = 0.04;

/** What the headset draws: the room's slice, in its window, where it was pinned (patient frame). */
export interface PanelShown {
  series: string;
  slice: number;
  center: number;
  width: number;
  pose: FramePose;
  pinnedBy: string;
}

/**
 * The slice panel pinned in the patient frame, without three.js: shown only to
 * a participant whose access includes ImagingStudy (the viewer state and the
 * frames reach nobody else), only once the patient frame is registered, and
 * showing what the room's shared viewer shows (the presenter's slice and
 * window). The surgeon pins it where they look (by voice or the thumbstick),
 * the guide from the web client; either takes it down.
 */
export class SlicePanelController {
  constructor(
    private readonly session: SlicePanelSession,
    private readonly imaging: PanelImaging | null,
  ) {}

  private get role(): RoomRole | null {
    const r = RoomRole.safeParse(this.session.state.participants.get(this.session.sessionId)?.role);
    return r.success ? r.data : null;
  }

  /** Does this participant see images at all (their access includes ImagingStudy, and the case has some)? */
  get sees(): boolean {
    return this.imaging?.available === true;
  }

  /** May this participant pin or unpin (the room policy's rule, as the server decides it)? */
  get mayPin(): boolean {
    const role = this.role;
    const kind = RoomKind.safeParse(this.session.state.info.kind);
    return role !== null && kind.success && authorizeRoomAction(role, 'viewer.pin', { roomKind: kind.data, imagingAccess: this.sees }).allow;
  }

  /** The panel as the headset should draw it, or null (nothing pinned, no images for this viewer, no patient frame yet). */
  shown(): PanelShown | null {
    const v = this.session.state.viewer?.get('shared');
    if (!this.sees || !v || v.pinBy === '' || v.series === '' || this.session.guidance.anchor().version === 0) return null;
    const by = this.session.state.participants.get(v.pinBy)?.name ?? 'someone who left';
    return { series: v.series, slice: v.slice, center: v.center, width: v.width, pose: { p: [v.pinPx, v.pinPy, v.pinPz], q: [v.pinQx, v.pinQy, v.pinQz, v.pinQw] }, pinnedBy: by };
  }

  /** "Pinned by Dr. Guide", for the web viewer; '' when nothing is pinned. */
  get pinnedText(): string {
    const v = this.session.state.viewer?.get('shared');
    if (!v || v.pinBy === '') return '';
    return `Pinned for the surgeon by ${this.session.state.participants.get(v.pinBy)?.name ?? 'someone who left'}`;
  }

  get pinned(): boolean {
    return (this.session.state.viewer?.get('shared')?.pinBy ?? '') !== '';
  }

  /** Pin where the surgeon looks (a world pose, facing them), or at DEFAULT_PIN from the web; the answer for the status line. */
  async pin(world: FramePose | null): Promise<string> {
    if (!this.sees) return 'No images in your access';
    if (!this.mayPin) return 'Pin: not allowed for your role';
    const anchor = this.session.guidance.anchor();
    if (anchor.version === 0) return 'Register the patient frame first';
    const pose = world ? poseToPatientFrame(anchor, world) : DEFAULT_PIN;
    const reply = await this.session.request('viewer.pin', { pose: { p: [...pose.p], q: [...pose.q] } }).catch(() => null);
    if (!reply) return 'Pin: not sent';
    return reply.ok ? 'Slice pinned' : `Pin: ${reply.error.code}`;
  }

  async unpin(): Promise<string> {
    if (!this.mayPin) return 'Unpin: not allowed';
    const reply = await this.session.request('viewer.pin', { pose: null }).catch(() => null);
    if (!reply) return 'Unpin: not sent';
    return reply.ok ? 'Slice panel removed' : `Unpin: ${reply.error.code}`;
  }

  /** The caption under the panel: which slice of which series, in which window, pinned by whom. */
  static caption(p: PanelShown, sliceCount: number, description: string): string {
    return `${description ? `${description} · ` : ''}Slice ${p.slice + 1} / ${sliceCount || '…'} · W ${Math.round(p.width)} L ${Math.round(p.center)} · pinned by ${p.pinnedBy}`;
  }
}
