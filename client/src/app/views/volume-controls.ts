import { VOLUME_MODES, type VolumeMode } from '../../../../shared/src/imaging.ts';
import type { SlicePanelController } from '../ar/slice-panel-controller.ts';
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

/**
 * Surgical guidance: pin the room's slice for the surgeon's headset (in the patient frame, beside the
 * site) or take it down, and who pinned it. Only for those the room lets pin (guiding roles with images).
 */
export function pinControl(panels: SlicePanelController): { el: HTMLElement; render(): void } {
  let problem = '';
  const status = h('span', { class: 'muted', 'data-testid': 'pin-status' });
  const button = h('button', {
    'data-testid': 'pin-slice',
    title: 'Shows the slice the room is looking at in the surgeon’s headset, beside the patient; it follows the room’s view',
    onclick: async () => {
      button.disabled = true;
      const said = panels.pinned ? await panels.unpin() : await panels.pin(null);
      button.disabled = false;
      problem = /^Slice (pinned|panel removed)$/.test(said) ? '' : said;
      render();
    },
  }, 'Pin slice for the surgeon');
  const el = h('span', { class: 'row pin-control' }, button, status);
  const render = () => {
    el.hidden = !panels.mayPin;
    button.textContent = panels.pinned ? 'Unpin slice' : 'Pin slice for the surgeon';
    status.textContent = problem || panels.pinnedText;
  };
  return { el, render };
}
