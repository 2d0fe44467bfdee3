import { describe, expect, it } from 'vitest';
import { ageFrom, formatWhen, humanUnit, medicationName, observationRows, parseWhen, quantityText, rangeAndFlag, shortName, vitalValueText, whenOf } from '../../client/src/app/clinical/format.ts';
import { plainDetails, presetFor } from '../../client/src/admin/presets.ts';
import { objectName, objectPlace } from '../../client/src/app/scene-list.ts';
import { plainVideoError } from '../../client/src/app/plain-errors.ts';
import { VIDEO_STROKE_FRESH_MS, videoStrokeIsOld } from '../../shared/src/guidance.ts';
import { loadConfig } from '../../server/src/config.ts';

describe('clinical formatting', () => {
  it('writes UCUM units the way charts do', () => {
    expect(humanUnit('mm[Hg]')).toBe('mmHg');
    expect(humanUnit('{INR}')).toBe('');
    expect(humanUnit('10*9/L')).toBe('×10⁹/L');
    expect(humanUnit('umol/L')).toBe('µmol/L');
    expect(humanUnit('Cel')).toBe('°C');
    expect(humanUnit('{beats}/min')).toBe('bpm');
    expect(humanUnit(undefined)).toBe('');
    expect(quantityText({ value: 3.8, unit: 'INR', code: '{INR}' })).toBe('3.8');
    expect(quantityText({ value: 92, unit: 'beats/minute', code: '/min' })).toBe('92 bpm');
    expect(quantityText({ value: 97, code: '%' })).toBe('97%');
    expect(quantityText({ value: 0.01, comparator: '<', code: 'ug/L' })).toBe('<0.01 µg/L');
    expect(quantityText({ unit: 'mmol/L' })).toBe('');
  });

  it('keeps year-only and year-month dates at the precision given, and never throws on junk', () => {
    expect(formatWhen(parseWhen('2024'))).toBe('2024');
    expect(formatWhen(parseWhen('2024-03'))).toMatch(/2024/);
    expect(parseWhen('2024-03-05')?.precision).toBe('day');
    expect(parseWhen('2026-11-25T06:00:00Z')?.precision).toBe('time');
    for (const junk of ['', 'soon', '2024-13-99T', null, 42, {}, '\u0000', '\ud800']) expect(() => formatWhen(parseWhen(junk))).not.toThrow();
    expect(parseWhen('soon')).toBeNull();
    expect(whenOf({ effectivePeriod: { start: '2025-01-02T03:04:05Z' } })?.precision).toBe('time');
    expect(whenOf({ effectivePeriod: 'not an object' })).toBeNull();
    const now = Date.parse('2026-11-25T12:00:00');
    expect(formatWhen(parseWhen(new Date(now - 3_600_000).toISOString()), now)).toMatch(/^today /);
    expect(formatWhen(parseWhen(new Date(now - 26 * 3_600_000).toISOString()), now)).toMatch(/^yesterday /);
    expect(formatWhen(parseWhen('2020-05-06'), now)).toMatch(/2020/);
    const iso = formatWhen(parseWhen('2020-05-06T07:08:09Z'));
    expect(iso).not.toMatch(/T07|Z$/);
    // Within the week the time of day shows; before it, the date alone.
    expect(formatWhen(parseWhen(new Date(now - 3 * 86_400_000).toISOString()), now)).toMatch(/\d{2}:\d{2}/);
    expect(formatWhen(parseWhen(new Date(now - 30 * 86_400_000).toISOString()), now)).not.toMatch(/\d{2}:\d{2}/);
  });

  it('computes ages, including from a year-only birth date', () => {
    const now = new Date(2026, 10, 25);
    expect(ageFrom('1958-07-02', now)).toBe(68);
    expect(ageFrom('1958-12-31', now)).toBe(67);
    expect(ageFrom('1958', now)).toBe(68);
    expect(ageFrom('garbage', now)).toBeNull();
    expect(ageFrom('2999-01-01', now)).toBeNull();
  });

  it('flags from interpretation codes first, else from the reference range', () => {
    expect(rangeAndFlag(5.9, [{ low: { value: 3.5 }, high: { value: 5.1 } }], undefined)).toEqual({ range: '3.5–5.1', flag: 'H' });
    expect(rangeAndFlag(8.1, [{ low: { value: 12 }, high: { value: 16 } }], undefined).flag).toBe('L');
    expect(rangeAndFlag(4, [{ low: { value: 12 }, high: { value: 16 } }], undefined).flag).toBe('L'); // critical only from the lab's code
    expect(rangeAndFlag(9.9, [{ high: { value: 5 } }], [{ coding: [{ code: 'HH' }] }]).flag).toBe('HH');
    expect(rangeAndFlag(4.2, [{ low: { value: 3.5 }, high: { value: 5.1 } }], undefined).flag).toBe('N');
    expect(rangeAndFlag(4.2, [{ text: 'see lab' }], [{ coding: [{ code: 'A' }] }])).toEqual({ range: 'see lab', flag: 'A' });
    expect(rangeAndFlag(undefined, 'nonsense', 42)).toEqual({ range: '', flag: '' });
  });

  it('turns a blood-pressure panel into one row per component and tolerates missing parts', () => {
    const rows = observationRows({
      resourceType: 'Observation', category: [{ coding: [{ code: 'vital-signs' }] }], code: { coding: [{ code: '85354-9', display: 'BP' }] }, effectiveDateTime: '2026-11-25T06:00:00Z',
      component: [
        { code: { coding: [{ code: '8480-6', display: 'Systolic' }] }, valueQuantity: { value: 150, code: 'mm[Hg]', unit: 'mm[Hg]' }, referenceRange: [{ high: { value: 140 } }] },
        { code: { coding: [{ code: '8462-4', display: 'Diastolic' }] }, valueQuantity: { value: 90, code: 'mm[Hg]' } },
        'garbage',
        { code: null },
      ],
    });
    // Short names by LOINC code; the source's name stays for the tooltip.
    expect(rows.map((r) => [r.name, r.fullName, r.value, r.flag, r.category])).toEqual([['Systolic BP', 'Systolic', '150 mmHg', 'H', 'vital'], ['Diastolic BP', 'Diastolic', '90 mmHg', '', 'vital']]);
    expect(observationRows({ resourceType: 'Observation' })).toEqual([]);
    expect(observationRows({ resourceType: 'Observation', code: 7, valueCodeableConcept: { text: 'Positive' } })[0]!.value).toBe('Positive');
  });

  it('names a medication from a contained Medication or a reference display', () => {
    expect(medicationName({ contained: [{ resourceType: 'Medication', id: 'm1', code: { coding: [{ display: 'Apixaban 5 MG' }] } }], medicationReference: { reference: '#m1' } })).toBe('Apixaban 5 MG');
    expect(medicationName({ medicationReference: { reference: 'Medication/9', display: 'Heparin' } })).toBe('Heparin');
    expect(medicationName({ medicationReference: { reference: '#missing' }, contained: 'nope' })).toBe('Medication');
    expect(medicationName({})).toBe('Medication');
  });

  it('rounds a latest vital as a flowsheet shows it, per measure', () => {
    expect(vitalValueText('8331-1', 37.152)).toBe('37.2'); // temperature: a tenth
    expect(vitalValueText('8310-5', 37)).toBe('37.0');
    expect(vitalValueText('39156-5', 22.01)).toBe('22.0'); // BMI
    expect(vitalValueText('29463-7', 71.94)).toBe('71.9'); // weight
    expect(vitalValueText('8302-2', 180.84)).toBe('180.8'); // height
    expect(vitalValueText('8480-6', 127.4)).toBe('127'); // pressures and rates whole
    expect(vitalValueText('8462-4', 75.5)).toBe('76');
    expect(vitalValueText('8867-4', 88.2)).toBe('88');
    expect(vitalValueText('9279-1', 15.6)).toBe('16');
    expect(vitalValueText('59408-5', 97.4)).toBe('97');
    expect(vitalValueText('59576-9', 7.2121)).toBe('7'); // a percentile whole…
    expect(vitalValueText('59576-9', 0.43)).toBe('0.4'); // …to a tenth at the extremes
    expect(vitalValueText('59576-9', 99.62)).toBe('99.6');
    // Anything else: three significant digits, whole digits kept, no "-0".
    expect(vitalValueText('x', 7.2121)).toBe('7.21');
    expect(vitalValueText('x', 0.012345)).toBe('0.0123');
    expect(vitalValueText('x', 1234.5)).toBe('1235');
    expect(vitalValueText('x', 12)).toBe('12');
    expect(vitalValueText('8331-1', -0.04)).toBe('0.0');
    expect(vitalValueText('x', -3.14159)).toBe('-3.14');
  });

  it('gives Synthea’s long vital names their flowsheet names', () => {
    expect(shortName('59576-9', 'Body mass index (BMI) [Percentile] Per age and gender')).toBe('BMI percentile');
    expect(shortName('8331-1', 'Oral temperature')).toBe('Temp (oral)');
  });
});

describe('console and scene wording', () => {
  it('maps validation paths to sentences and scopes to presets', () => {
    expect(plainDetails([{ path: 'participants.1.scopes.0', message: 'scopes are patient/<Type|*>.<cruds> or deidentified' }])).toEqual(['Participant 2, scope 1: scopes are patient/<Type|*>.<cruds> or deidentified']);
    expect(plainDetails(undefined)).toEqual([]);
    expect(presetFor(null).id).toBe('default');
    expect(presetFor(['patient/Observation.rs']).id).toBe('vitals');
    expect(presetFor(['patient/Foo.rs']).id).toBe('custom');
  });

  it('calls a stroke a stroke and tells places in centimetres', () => {
    const names = (id: string) => ({ 'u.1': 'Dr. Adams' })[id];
    expect(objectName({ kind: 'stroke', asset: 'builtin:pin', label: '', createdBy: 'u.1' }, names)).toBe('Stroke by Dr. Adams');
    expect(objectName({ kind: 'model', asset: 'builtin:heart', label: 'heart', createdBy: '' }, names)).toBe('Heart model');
    expect(objectName({ kind: 'label', asset: 'builtin:pin', label: 'LAA', createdBy: '' }, names)).toBe('Note “LAA”');
    expect(objectPlace({ px: 0.15, py: 1.07, pz: 0, sx: 1 })).toBe('15 cm from the centre, 15 cm above the table');
    expect(objectPlace({ px: 0, py: 0.92, pz: 0, sx: 1.5 })).toBe('centre of the table, 0 cm above the table · size ×1.5');
    // A stroke on the surgeon's video has no place in the room.
    expect(objectPlace({ px: 0, py: 0, pz: 0, sx: 1, frame: 'video' })).toBe('on the surgeon’s video');
    expect(objectPlace({ px: 0, py: 0, pz: 0, sx: 1, frame: 'patient' })).toMatch(/table/);
  });

  it('video: the headset\'s old-frame rule is one shared rule; a failed connection is a plain sentence', () => {
    expect(videoStrokeIsOld(VIDEO_STROKE_FRESH_MS, false)).toBe(false);
    expect(videoStrokeIsOld(VIDEO_STROKE_FRESH_MS + 1, false)).toBe(true);
    expect(videoStrokeIsOld(0, true)).toBe(true);
    const text = plainVideoError(new Error('could not establish signal connection: Failed to fetch'));
    expect(text).not.toMatch(/signal|fetch|Error/);
    expect(text).toMatch(/^The surgeon’s video could not be connected/);
  });
});

describe('IMAGING_VIEWER_URL', () => {
  const base = { NODE_ENV: 'test', DATABASE_URL: 'postgres://x@127.0.0.1/x' };
  it('takes an http(s) URL with {studyUid}, and refuses anything else by name', () => {
    expect(loadConfig({ ...base, IMAGING_VIEWER_URL: 'https://pacs.example.org/v?study={studyUid}' }).imagingViewerUrl).toBe('https://pacs.example.org/v?study={studyUid}');
    expect(loadConfig(base).imagingViewerUrl).toBeNull();
    for (const bad of ['javascript:alert(1)//{studyUid}', 'https://pacs.example.org/no-placeholder', 'ftp://x/{studyUid}']) {
      expect(() => loadConfig({ ...base, IMAGING_VIEWER_URL: bad })).toThrow(/IMAGING_VIEWER_URL/);
    }
  });
});
