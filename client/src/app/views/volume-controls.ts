import { VOLUME_MODES, type VolumeMode } from '../../../../shared/src/imaging.ts';
import { h } from '../dom.ts';
import type { ViewerController } from '../imaging/viewer-controller.ts';
import type { VolumeView } from '../scene/volume-view.ts';

const MODES: Record<VolumeMode, { label: string; hint: string }> = {
  planes: { label: 'Planes', hint: 'Axial, coronal and sagittal planes through the volume (MPR)' },
  mip: { label: 'MIP', hint: 'Maximum intensity projection through the volume, in the current window' },
  volume: { label: 'Volume', hint: 'Volume rendering: the current window is the transfer function (try the bone preset)' },
};

/**
 * The 3D view's controls under the slice viewer: show the series on the table or not (this viewer only),
 * and how — planes, MIP or volume — which is part of the shared view (the presenter's choice reaches
 * everyone following; choosing on one's own leaves the room's view, like scrolling).
 */
export function volumeControls(ctl: ViewerController, volume: VolumeView): { el: HTMLElement; render(): void } {
  const box = h('input', { type: 'checkbox', checked: true, 'data-testid': 'volume-toggle', onchange: () => volume.setShown(box.checked) });
  const buttons = VOLUME_MODES.map((m) => h('button', { class: 'tool', 'data-mode3d': m, title: MODES[m].hint, 'aria-pressed': 'false', onclick: () => ctl.setMode3d(m) }, MODES[m].label));
  const el = h('span', { class: 'row volume-controls' },
    h('label', { class: 'row follow', title: 'Show this series on the table in the 3D view' }, box, 'In 3D'),
    h('span', { class: 'row', role: 'group', 'aria-label': 'In 3D as' }, ...buttons));
  return { el, render: () => buttons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset['mode3d'] === ctl.view.mode3d))) };
}
