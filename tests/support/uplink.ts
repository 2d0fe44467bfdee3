import type { ClinicSession } from '../../client/src/sdk/index.ts';

type Send = (...args: unknown[]) => void;

/** The WebSocket under a session's Colyseus connection (the SDK does not expose it). */
function socketOf(session: ClinicSession): { send: Send } {
  return (session.room.connection.transport as unknown as { ws: { send: Send } }).ws;
}

/**
 * Control a session's uplink like a real slow link: every frame it sends is
 * delayed or dropped, and delayed frames keep their order — as over TCP, a
 * frame sent after the link recovers arrives after the ones still in flight,
 * never before (a per-frame `setTimeout` would let it overtake them).
 */
export function uplink(session: ClinicSession) {
  const ws = socketOf(session);
  const send = ws.send;
  const queue: { at: number; args: unknown[] }[] = [];
  let timer: NodeJS.Timeout | null = null;
  let mode: { delay: number } | 'drop' | null = null;
  let through = false;

  const pump = (): void => {
    timer = null;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.at <= now) send.apply(ws, queue.shift()!.args);
    if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - now);
  };
  const enqueue = (args: unknown[], delay: number): void => {
    queue.push({ at: Math.max(Date.now() + delay, queue.at(-1)?.at ?? 0), args });
    timer ??= setTimeout(pump, Math.max(0, queue[0]!.at - Date.now()));
  };

  ws.send = (...args: unknown[]) => {
    if (mode === 'drop' && !through) return;
    const delay = mode === null || mode === 'drop' || through ? 0 : mode.delay;
    if (delay === 0 && queue.length === 0) return void send.apply(ws, args);
    enqueue(args, delay);
  };
  return {
    delay: (ms: number) => void (mode = { delay: ms }),
    drop: () => void (mode = 'drop'),
    /** Frames sent inside `fn` skip the delay (still behind frames already in flight). */
    bypass: (fn: () => void) => {
      through = true;
      try {
        fn();
      } finally {
        through = false;
      }
    },
    /** The link is fast again; frames still in flight arrive first, in order. */
    restore: () => void (mode = null),
  };
}

/** Delay every frame this session sends by `ms` (its `link.pong` answers too: a slow link); returns the undo. */
export function slowUplink(session: ClinicSession, ms: number): () => void {
  const link = uplink(session);
  link.delay(ms);
  return link.restore;
}
