import { describe, expect, it } from 'vitest';
import { ViewerController, type Frame, type ImagingReader } from '../../client/src/app/imaging/viewer-controller.ts';
import { ellipseStats, lengthMm, modalityValues, windowToGrey } from '../../client/src/app/imaging/pixels.ts';
import type { ImagingInstanceDto, ImagingListResponse, ImagingSeriesResponse } from '../../shared/src/imaging.ts';
import { ViewerState } from '../../shared/src/state.ts';
import { FakeSession } from '../support/fake-session.ts';

const KEY = '2.25.1111';
const inst = (i: number): ImagingInstanceDto => ({
  sopUid: `1.2.${i}`, number: i + 1, frames: 1, rows: 16, columns: 16, pixelSpacing: [0.5, 0.25], sliceThickness: 2.5, position: [0, 0, i * 2.5], orientation: [1, 0, 0, 0, 1, 0],
  windowCenter: 40, windowWidth: 400, rescaleSlope: 1, rescaleIntercept: -1024, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1, photometric: 'MONOCHROME2', samplesPerPixel: 1,
});
const LIST: ImagingListResponse = { variant: 'identified', refused: [], studies: [{ studyUid: '1.2', date: '20010101', description: null, source: 'upload', series: [{ seriesUid: '1.2.3', key: KEY, modality: 'CT', description: 'Gated', number: 5, instances: 5, withheld: null }] }] };
const SERIES: ImagingSeriesResponse = { variant: 'identified', studyUid: '1.2', seriesUid: '1.2.3', key: KEY, modality: 'CT', description: 'Gated', date: '20010101', patient: null, institution: null, instances: [0, 1, 2, 3, 4].map(inst) };

function setup(opts: { canEdit?: boolean; list?: () => Promise<ImagingListResponse> } = {}) {
  const session = new FakeSession();
  session.join('me', { userId: 'u.me', name: 'Me', role: opts.canEdit === false ? 'observer' : 'clinician' });
  session.join('lead', { userId: 'u.lead', name: 'Dr. Lead', role: 'host' });
  session.state.viewer.set('shared', new ViewerState());
  const fetched: string[] = [];
  const reader: ImagingReader = {
    list: opts.list ?? (async () => LIST),
    series: async () => SERIES,
    frame: async (_s, sop): Promise<Frame> => {
      fetched.push(sop);
      return { type: 'raw', bytes: new Uint8Array(512) };
    },
  };
  const timers: (() => void)[] = [];
  let changes = 0;
  const ctl = new ViewerController(session as never, reader, opts.canEdit !== false, { changed: () => void changes++ }, (fn) => (timers.push(fn), 0 as never));
  const shared = (fields: Partial<ViewerState>) => Object.assign(session.state.viewer.get('shared')!, fields);
  const runTimers = () => timers.splice(0).forEach((f) => f());
  return { session, ctl, fetched, shared, runTimers, changes: () => changes };
}

describe('ViewerController', () => {
  it('follows the room: takes the shared view whenever someone else changed it', async () => {
    const { ctl, shared, session } = setup();
    session.state.info.presenter = 'lead';
    await ctl.start();
    expect(ctl.view.series).toBe(KEY); // nothing shared yet: the first series, on its own
    shared({ series: KEY, slice: 3, center: -600, width: 1500, zoom: 2, panX: 0.1, by: 'lead', seq: 1 });
    ctl.sync();
    expect(ctl.view).toMatchObject({ series: KEY, slice: 3, center: -600, width: 1500, zoom: 2 });
    expect(ctl.followText).toBe('Following Dr. Lead');
  });

  it('a follower who scrolls leaves the room view (sends nothing) and rejoins with one call', async () => {
    const { ctl, shared, session, runTimers } = setup();
    session.state.info.presenter = 'lead';
    await ctl.start();
    await ctl.load();
    shared({ series: KEY, slice: 1, by: 'lead', seq: 1 });
    ctl.sync();
    ctl.scroll(2);
    runTimers();
    expect(ctl.follow).toBe(false);
    expect(ctl.view.slice).toBe(3);
    expect(session.sentOf('viewer.set')).toEqual([]);
    shared({ slice: 4, seq: 2 });
    ctl.sync();
    expect(ctl.view.slice).toBe(3); // on one's own: the presenter's scrolling does not move it
    expect(ctl.followText).toBe('Your own view');
    ctl.rejoin();
    expect(ctl.follow).toBe(true);
    expect(ctl.view.slice).toBe(4);
  });

  it('the driver sends its changes, coalesced, and the whole view when the room shows another series', async () => {
    const { ctl, session, runTimers, shared } = setup();
    await ctl.start();
    await ctl.load();
    expect(ctl.drives).toBe(true); // nobody presents, and a clinician may drive
    ctl.scroll(1);
    ctl.scroll(1);
    ctl.preset('lung');
    runTimers();
    expect(session.sentOf('viewer.set')).toEqual([{ series: KEY, slice: 2, center: -600, width: 1500, zoom: 1, panX: 0, panY: 0, mode3d: 'planes' }]);
    shared({ series: KEY, slice: 2, by: 'me', seq: 1 });
    ctl.sync();
    ctl.scroll(1);
    ctl.zoomBy(2);
    runTimers();
    expect(session.sentOf('viewer.set')[1]).toEqual({ slice: 3, zoom: 2 });
    expect(ctl.follow).toBe(true);
  });

  it('the 3D mode is part of the view: the driver sends it, a follower takes the presenter’s, choosing one’s own leaves the room view', async () => {
    const { ctl, session, runTimers, shared } = setup();
    await ctl.start();
    await ctl.load();
    shared({ series: KEY, by: 'me', seq: 1 });
    ctl.sync();
    ctl.setMode3d('volume');
    ctl.setMode3d('volume'); // no change, nothing more to send
    runTimers();
    expect(session.sentOf('viewer.set')).toEqual([{ mode3d: 'volume' }]);
    expect(ctl.view.mode3d).toBe('volume');
    // Dr. Lead presents and shows a MIP: the follower's table shows a MIP too.
    session.state.info.presenter = 'lead';
    shared({ mode3d: 'mip', by: 'lead', seq: 2 });
    ctl.sync();
    expect(ctl.view.mode3d).toBe('mip');
    // A mode the client does not know (a newer server) is shown as planes, never half-drawn.
    shared({ mode3d: 'surface', by: 'lead', seq: 3 });
    ctl.sync();
    expect(ctl.view.mode3d).toBe('planes');
    ctl.setMode3d('volume');
    expect(ctl.follow).toBe(false);
    runTimers();
    expect(session.sentOf('viewer.set')).toHaveLength(1);
  });

  it('a pinch zooms about the point between the fingers: that image point stays under them', async () => {
    const { ctl } = setup();
    await ctl.start();
    // Panel 400 × 400, image fitted: canvas x = 200 + panX·400 + (col − C/2)·s·zoom. The fingers at (300, 100).
    const at = (u: number, v: number) => {
      const { zoom, panX, panY } = ctl.view;
      return [(u - 0.5 - panX) / zoom, (v - 0.5 - panY) / zoom]; // the image point there, in fitted panel units from the centre
    };
    const before = at(0.75, 0.25);
    ctl.zoomAt(2, 0.25, -0.25);
    expect(ctl.view.zoom).toBe(2);
    at(0.75, 0.25).forEach((c, i) => expect(c).toBeCloseTo(before[i]!, 9));
    ctl.zoomAt(1000, 0.25, -0.25); // clamped at 40×, still about the same point
    expect(ctl.view.zoom).toBe(40);
    at(0.75, 0.25).forEach((c, i) => expect(c).toBeCloseTo(before[i]!, 9));
  });

  it('slices stay within the series; observers never drive when nobody presents', async () => {
    const { ctl, session } = setup({ canEdit: false });
    await ctl.start();
    await ctl.load();
    ctl.setSlice(99);
    expect(ctl.view.slice).toBe(4);
    ctl.scroll(-10);
    expect(ctl.view.slice).toBe(0);
    expect(ctl.drives).toBe(false);
    expect(ctl.canMeasure).toBe(false);
    session.state.info.presenter = 'me';
    expect(ctl.drives).toBe(true);
  });

  it('fetches the slice shown once, and its neighbours ahead', async () => {
    const { ctl, fetched } = setup();
    await ctl.start();
    await ctl.load();
    ctl.setSlice(2);
    await ctl.frame();
    await ctl.frame();
    expect(fetched.sort()).toEqual(['1.2.1', '1.2.2', '1.2.3', '1.2.4']);
  });

  it('measures in mm from PixelSpacing [row, column], on the slice shown only', async () => {
    const { ctl, session } = setup();
    await ctl.start();
    await ctl.load();
    ctl.setSlice(1);
    await ctl.measure('length', [0, 0], [8, 6]);
    expect(session.sentOf('object.add')[0]).toMatchObject({ kind: 'length', frame: 'slice', slice: { series: KEY, index: 1 }, points: [0, 0, 0, 8, 6, 0] });
    session.put('m1', { kind: 'length', frame: 'slice', slice: `${KEY}/1`, points: '0,0,0,8,6,0', createdBy: 'u.lead' });
    session.put('m2', { kind: 'length', frame: 'slice', slice: `${KEY}/2`, points: '0,0,0,1,1,0', createdBy: 'u.lead' });
    // 8 columns × 0.25 mm = 2 mm; 6 rows × 0.5 mm = 3 mm → √13 = 3.6 mm
    expect(ctl.measurements()).toEqual([{ id: 'm1', kind: 'length', a: [0, 0], b: [8, 6], text: '3.6 mm', by: 'Dr. Lead' }]);
  });

  it('says so when the room gives this viewer no images', async () => {
    const { ctl } = setup({ list: async () => Promise.reject(Object.assign(new Error('denied'), { code: 'SCOPE_DENIED' })) });
    await ctl.start();
    expect(ctl.available).toBe(false);
    expect(ctl.denied).toBe(true);
    expect(ctl.notice).toMatch(/does not include images/);
  });
});

describe('pixels', () => {
  it('reads signed 16-bit samples, rescales to HU and windows linearly', () => {
    const bytes = new Uint8Array(8);
    const dv = new DataView(bytes.buffer);
    [-2000, 0, 1024, 3000].forEach((v, i) => dv.setInt16(i * 2, v, true));
    const meta = { rows: 2, columns: 2, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1, rescaleSlope: 1, rescaleIntercept: -1024, photometric: 'MONOCHROME2', samplesPerPixel: 1 };
    const hu = modalityValues(bytes, meta);
    expect([...hu]).toEqual([-3024, -1024, 0, 1976]);
    const grey = windowToGrey(hu, 0, 2000);
    expect([grey[0], grey[4], grey[8], grey[12]]).toEqual([0, 0, 128, 255]);
    expect(windowToGrey(hu, 0, 2000, true)[12]).toBe(0);
  });

  it('12 bits stored in 16: the sign lives in bit 11', () => {
    const bytes = new Uint8Array([0xff, 0x0f, 0x01, 0x00]); // 0x0fff = -1 in 12-bit two's complement
    const v = modalityValues(bytes, { rows: 1, columns: 2, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 1, rescaleSlope: 1, rescaleIntercept: 0, photometric: 'MONOCHROME2', samplesPerPixel: 1 });
    expect([...v]).toEqual([-1, 1]);
  });

  it('lengths and region statistics', () => {
    expect(lengthMm([0, 0], [3, 4], [1, 1])).toBe(5);
    expect(lengthMm([0, 0], [3, 4], null)).toBeNull();
    const values = new Float32Array(16).fill(100);
    expect(ellipseStats(values, 4, 4, [0, 0], [4, 4])).toMatchObject({ mean: 100, sd: 0 });
  });
});
