import * as THREE from 'three';

/** Longest text drawn per line: hostile or huge labels stay readable. */
const MAX_CHARS = 100;
const LINE_PX = 112;

export interface TextStyle {
  color: string;
  background: string;
  /** Height of the sprite in metres. */
  height: number;
  /** Drawn over everything else (banners): never hidden behind anatomy. */
  onTop?: boolean;
  /** Wrap onto at most this many lines (default 1); `height` is per line. */
  maxLines?: number;
  /** Canvas width in pixels (default 1024, about 30 characters a line); banners use more. */
  widthPx?: number;
}

/** Greedy word wrap by measured width; the last line is cut with an ellipsis when the text does not fit. */
function wrap(ctx: CanvasRenderingContext2D, text: string, maxWidth: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width <= maxWidth || !line) line = next;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${kept[maxLines - 1]!.slice(0, MAX_CHARS - 1)}…`;
  return kept;
}

/**
 * A camera-facing text label drawn on a canvas. `setText` redraws only when
 * the text changes, so per-frame updates (ages, banners) cost nothing when
 * nothing changed.
 */
export class TextSprite {
  readonly sprite: THREE.Sprite;
  private readonly canvas = document.createElement('canvas');
  private readonly texture: THREE.CanvasTexture;
  private text: string | null = null;
  private shownText = '';

  constructor(private readonly style: TextStyle) {
    this.canvas.width = style.widthPx ?? 1024;
    this.canvas.height = 16 + LINE_PX * (style.maxLines ?? 1);
    this.texture = new THREE.CanvasTexture(this.canvas);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    const material = new THREE.SpriteMaterial({ map: this.texture, transparent: true, depthTest: !style.onTop, depthWrite: false });
    this.sprite = new THREE.Sprite(material);
    if (style.onTop) this.sprite.renderOrder = 1000;
  }

  /** The text as drawn (cleaned and cut). */
  get current(): string {
    return this.shownText;
  }

  setText(text: string, colors?: Partial<Pick<TextStyle, 'color' | 'background'>>): void {
    // Control characters and unpaired surrogates render as boxes; drop them (they carry no meaning to a reader).
    const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '');
    const maxLines = this.style.maxLines ?? 1;
    const shown = clean.length > MAX_CHARS * maxLines ? `${clean.slice(0, MAX_CHARS * maxLines - 1)}…` : clean;
    const key = `${shown}|${colors?.color ?? ''}|${colors?.background ?? ''}`;
    if (key === this.text) return;
    this.text = key;
    this.shownText = shown;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.font = 'bold 56px system-ui, sans-serif';
    const lines = wrap(ctx, shown, this.canvas.width - 48, maxLines);
    const width = Math.min(this.canvas.width, Math.ceil(Math.max(...lines.map((l) => ctx.measureText(l).width))) + 48);
    const height = 16 + LINE_PX * lines.length;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.fillStyle = colors?.background ?? this.style.background;
    ctx.beginPath();
    ctx.roundRect((this.canvas.width - width) / 2, (this.canvas.height - height) / 2 + 8, width, height - 16, 24);
    ctx.fill();
    ctx.fillStyle = colors?.color ?? this.style.color;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const top = (this.canvas.height - LINE_PX * lines.length) / 2;
    lines.forEach((l, i) => ctx.fillText(l, this.canvas.width / 2, top + LINE_PX * (i + 0.5) + 2, this.canvas.width - 48));
    this.texture.needsUpdate = true;
    const h = this.style.height * (this.canvas.height / 128);
    this.sprite.scale.set(h * (this.canvas.width / this.canvas.height), h, 1);
    this.sprite.visible = shown !== '';
  }

  dispose(): void {
    this.texture.dispose();
    this.sprite.material.dispose();
  }
}
