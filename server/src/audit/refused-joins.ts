import { isErrorCode } from '../../../shared/src/errors.ts';
import type { AuditEvent } from './audit-log.ts';

/**
 * Refused join attempts, aggregated: one `ticket.refused` audit row per client
 * address and interval with the count per error code, instead of one row per
 * attempt (an anonymous flood wrote 359 rows in 5 s). `note()` is synchronous,
 * cheap and never throws, so the join path can call it and move on.
 *
 *   refusedJoins.note(context.ip, 'TICKET_INVALID', roomId);
 */
export interface RefusedJoinsOptions {
  /** Length of an interval; its rows are written when it ends. */
  intervalMs?: number;
  /** Distinct addresses kept per interval; beyond that they are counted under `other`. */
  maxAddresses?: number;
  onError?: (err: unknown) => void;
}

interface Tally {
  total: number;
  codes: Record<string, number>;
  rooms: Set<string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Addresses are IPv4/IPv6 text; anything else is not recorded verbatim. */
const ADDRESS = /^[0-9a-fA-F:.]{2,45}$/;
const MAX_ROOMS_PER_ROW = 10;

export class RefusedJoins {
  private tallies = new Map<string, Tally>();
  /** Refusals since start by error code (a bounded label set), for the metrics endpoint. */
  readonly totals = new Map<string, number>();
  private since = new Date();
  private readonly timer: NodeJS.Timeout;
  private readonly intervalMs: number;
  private readonly maxAddresses: number;

  constructor(
    private readonly audit: { record(event: AuditEvent): Promise<void> },
    private readonly options: RefusedJoinsOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Count one refused attempt from this address (the code is one of shared/src/errors.ts). */
  note(address: string | null | undefined, code: string, roomId?: string | null): void {
    let key = typeof address === 'string' && ADDRESS.test(address) ? address : 'unknown';
    if (!this.tallies.has(key) && this.tallies.size >= this.maxAddresses) key = 'other';
    const tally = this.tallies.get(key) ?? { total: 0, codes: {}, rooms: new Set<string>() };
    const c = isErrorCode(code) ? code : 'OTHER';
    tally.total++;
    tally.codes[c] = (tally.codes[c] ?? 0) + 1;
    this.totals.set(c, (this.totals.get(c) ?? 0) + 1);
    if (roomId && UUID.test(roomId) && tally.rooms.size < MAX_ROOMS_PER_ROW) tally.rooms.add(roomId.toLowerCase());
    this.tallies.set(key, tally);
  }

  /** Write the interval so far: one row per address. */
  async flush(): Promise<void> {
    if (this.tallies.size === 0) {
      this.since = new Date();
      return;
    }
    const tallies = this.tallies;
    const from = this.since;
    const to = new Date();
    this.tallies = new Map();
    this.since = to;
    await Promise.all(
      [...tallies].map(([address, t]) =>
        this.audit
          .record({
            actor: 'unknown',
            action: 'ticket.refused',
            outcome: 'failure',
            roomId: t.rooms.size === 1 ? [...t.rooms][0]! : null,
            details: { address, attempts: t.total, codes: t.codes, rooms: [...t.rooms], from: from.toISOString(), to: to.toISOString() },
          })
          .catch((err: unknown) => this.options.onError?.(err)),
      ),
    );
  }

  /** Stop the timer and write what is pending (at shutdown, before the audit log flushes). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
