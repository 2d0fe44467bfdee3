/**
 * The surgeon's hands-free commands (docs/ar-client.md §3): controller
 * buttons and spoken words map to the same four guidance commands, and to
 * pinning the room's image slice where the surgeon looks (or taking it down).
 */
export type HandsFreeCommand = 'ack' | 'next' | 'repeat' | 'dismiss' | 'pin' | 'unpin';

const WORDS: [RegExp, HandsFreeCommand][] = [
  [/\b(seen|acknowledged?|ack)\b/, 'ack'],
  [/\bnext\b/, 'next'],
  [/\b(repeat|again)\b/, 'repeat'],
  [/\bdismiss(ed)?\b/, 'dismiss'],
  // Two words, not "pin" alone: an orthopaedic theatre talks about pins.
  [/\b(unpin (the )?(slice|image|scan)|(remove|hide) (the )?(slice|image|scan))\b/, 'unpin'],
  [/\b(pin|show) (the )?(slice|image|scan)\b/, 'pin'],
];

/** A recognised phrase → one command, or null. Only the first 200 characters are looked at. */
export function commandForPhrase(phrase: string): HandsFreeCommand | null {
  const text = phrase.slice(0, 200).toLowerCase();
  // The earliest command word wins ("next, no, repeat" → next): a phrase never triggers two commands.
  let best: { at: number; cmd: HandsFreeCommand } | null = null;
  for (const [re, cmd] of WORDS) {
    const m = re.exec(text);
    if (m && (best === null || m.index < best.at)) best = { at: m.index, cmd };
  }
  return best?.cmd ?? null;
}

/**
 * xr-standard gamepad buttons (Quest Touch): 3 = thumbstick press, 4 = A/X, 5 = B/Y. Trigger
 * (select) and grip (squeeze) arrive as XR session events instead.
 */
export const BUTTON_COMMANDS: Record<number, HandsFreeCommand> = { 3: 'pin', 4: 'ack', 5: 'next' };

/** Edge detection over gamepad buttons: a command fires once per press, not every frame it is held. */
export class ButtonEdges {
  private readonly down = new Map<string, boolean>();

  /** Commands newly pressed on this gamepad since the last call. */
  pressed(key: string, gamepad: Gamepad | null | undefined): HandsFreeCommand[] {
    const out: HandsFreeCommand[] = [];
    if (!gamepad) return out;
    for (const [index, cmd] of Object.entries(BUTTON_COMMANDS)) {
      const id = `${key}:${index}`;
      const now = gamepad.buttons[Number(index)]?.pressed === true;
      if (now && !this.down.get(id)) out.push(cmd);
      this.down.set(id, now);
    }
    return out;
  }
}

interface Recognition {
  continuous: boolean;
  interimResults: boolean;
  lang: string;
  processLocally?: boolean;
  onresult: ((e: { resultIndex: number; results: ArrayLike<ArrayLike<{ transcript: string }> & { isFinal: boolean }> }) => void) | null;
  onend: (() => void) | null;
  onerror: ((e: { error?: string }) => void) | null;
  start(): void;
  stop(): void;
}
type RecognitionCtor = (new () => Recognition) & { available?: (o: { langs: string[]; processLocally: boolean }) => Promise<string> };

export type VoiceStatus = 'listening' | 'unavailable' | 'off';

/**
 * Spoken commands through the browser's SpeechRecognition — on-device only.
 * An operating room is full of patient talk: audio must not leave the
 * headset, so recognition starts only when the browser can promise local
 * processing (`processLocally`); otherwise voice stays off and the buttons
 * remain. Returns a stop function and the status to show.
 */
export async function listenForCommands(onCommand: (cmd: HandsFreeCommand) => void, lang = 'en-US'): Promise<{ status: VoiceStatus; stop: () => void }> {
  const g = globalThis as unknown as { SpeechRecognition?: RecognitionCtor; webkitSpeechRecognition?: RecognitionCtor };
  const Ctor = g.SpeechRecognition ?? g.webkitSpeechRecognition;
  const off = { status: 'unavailable' as VoiceStatus, stop: () => {} };
  if (!Ctor || !('processLocally' in Ctor.prototype)) return off;
  if (Ctor.available) {
    const availability = await Ctor.available({ langs: [lang], processLocally: true }).catch(() => 'unavailable');
    if (availability !== 'available') return off;
  }
  let stopped = false;
  let failures = 0;
  const rec = new Ctor();
  rec.continuous = true;
  rec.interimResults = false;
  rec.lang = lang;
  rec.processLocally = true;
  rec.onresult = (e) => {
    failures = 0;
    for (let i = e.resultIndex; i < e.results.length; i++) {
      const result = e.results[i];
      if (!result?.isFinal) continue;
      const cmd = commandForPhrase(result[0]?.transcript ?? '');
      if (cmd) onCommand(cmd);
    }
  };
  rec.onerror = () => void failures++;
  // Recognition ends on silence: keep listening for the whole session, but give up after repeated errors.
  rec.onend = () => {
    if (!stopped && failures < 5) setTimeout(() => !stopped && rec.start(), 250);
  };
  try {
    rec.start();
  } catch {
    return off;
  }
  return {
    status: 'listening',
    stop: () => {
      stopped = true;
      rec.stop();
    },
  };
}
