import type { SceneObjectState } from '../../../shared/src/state.ts';

/** Height of the table top (m): positions are told relative to it. */
export const TABLE_TOP_Y = 0.92;

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** What a clinician calls an object: "Heart model", "Note “Ablation site”", "Stroke by Dr. Adams". */
export function objectName(o: Pick<SceneObjectState, 'kind' | 'asset' | 'label' | 'createdBy'>, nameOf: (userId: string) => string | undefined): string {
  const by = o.createdBy ? nameOf(o.createdBy) ?? o.createdBy : '';
  switch (o.kind) {
    case 'stroke':
      return by ? `Stroke by ${by}` : 'Stroke';
    case 'label':
      return `Note “${o.label || 'untitled'}”`;
    case 'marker':
      return o.label ? `Marker “${o.label}”` : 'Marker';
    case 'length':
      return by ? `Length measured by ${by}` : 'Length measurement';
    case 'region':
      return by ? `Region by ${by}` : 'Region';
    case 'arrow':
      return by ? `Arrow by ${by}` : 'Arrow';
    default: {
      const asset = o.asset.startsWith('builtin:') ? o.asset.slice(8) : 'uploaded';
      return o.label && o.label !== asset ? `${o.label} (${asset} model)` : `${cap(asset)} model`;
    }
  }
}

/**
 * Where it is, in centimetres a person can picture: distance from the table's centre and height above it.
 * A video stroke has no place in the room: it is drawn on the surgeon's camera picture.
 */
export function objectPlace(o: Pick<SceneObjectState, 'px' | 'py' | 'pz' | 'sx'> & { frame?: string; slice?: string }): string {
  if (o.frame === 'video') return 'on the surgeon’s video';
  if (o.frame === 'slice') return `on image slice ${Number(o.slice?.split('/')[1] ?? 0) + 1}`;
  const fromCentre = Math.round(Math.hypot(o.px, o.pz) * 100);
  const above = Math.round((o.py - TABLE_TOP_Y) * 100);
  const height = above >= 0 ? `${above} cm above the table` : `${-above} cm below the table top`;
  const scale = Math.abs(o.sx - 1) > 0.01 ? ` · size ×${o.sx.toFixed(1)}` : '';
  return `${fromCentre === 0 ? 'centre of the table' : `${fromCentre} cm from the centre`}, ${height}${scale}`;
}
