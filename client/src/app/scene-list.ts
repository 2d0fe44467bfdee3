import type { SceneObjectState } from '../../../shared/src/state.ts';

/** Height of the table top (m): positions are told relative to it. */
export const TABLE_TOP_Y = 0.92;

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

type Named = Pick<SceneObjectState, 'kind' | 'asset' | 'label' | 'createdBy'> & { hasText?: boolean };

/** The object carries free text this viewer's access does not reach: the server sent it without its label. */
export function textHidden(o: { hasText?: boolean; label?: string }): boolean {
  return o.hasText === true && !o.label;
}

export const HIDDEN_REASON = 'hidden by your access';

/** What a clinician calls an object: "Heart model", "Note “Ablation site”", "Stroke by Dr. Adams", "Note by Dr. Adams — hidden by your access". */
export function objectName(o: Named, nameOf: (userId: string) => string | undefined): string {
  const by = o.createdBy ? nameOf(o.createdBy) ?? o.createdBy : '';
  const hidden = textHidden(o);
  switch (o.kind) {
    case 'stroke':
      return by ? `Stroke by ${by}` : 'Stroke';
    case 'arrow':
      return by ? `Arrow by ${by}` : 'Arrow';
    case 'label':
      return hidden ? `Note${by ? ` by ${by}` : ''} — ${HIDDEN_REASON}` : `Note “${o.label || 'untitled'}”`;
    case 'marker':
      return hidden ? `Marker${by ? ` by ${by}` : ''} — label ${HIDDEN_REASON}` : o.label ? `Marker “${o.label}”` : 'Marker';
    case 'length':
      return by ? `Length measured by ${by}` : 'Length measurement';
    case 'region':
      return by ? `Region by ${by}` : 'Region';
    case 'arrow':
      return by ? `Arrow by ${by}` : 'Arrow';
    default: {
      const asset = o.asset.startsWith('builtin:') ? o.asset.slice(8) : 'uploaded';
      if (hidden) return `${cap(asset)} model — label ${HIDDEN_REASON}`;
      return o.label && o.label !== asset ? `${o.label} (${asset} model)` : `${cap(asset)} model`;
    }
  }
}

/** "1 note hidden", "2 notes and 1 label hidden" (notes are label objects; labels on models and markers), or null. */
export function hiddenSummary(objects: readonly Named[]): string | null {
  const hidden = objects.filter(textHidden);
  if (hidden.length === 0) return null;
  const notes = hidden.filter((o) => o.kind === 'label').length;
  const labels = hidden.length - notes;
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `${[notes ? n(notes, 'note') : '', labels ? n(labels, 'label') : ''].filter(Boolean).join(' and ')} hidden`;
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
