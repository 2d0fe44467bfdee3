import type { Pool } from './pool.ts';

/**
 * Ids of signed webhook events already handled, in PostgreSQL so every process
 * sees them: a replay is refused whichever process it reaches. The primary key
 * makes the check-and-record one atomic statement, so two processes given the
 * same event at once cannot both accept it.
 */
export class WebhookEventsRepo {
  private lastPrune = 0;

  constructor(private readonly pool: Pool) {}

  /** Record the event id; false when it was recorded before (a replay). */
  async firstSighting(id: string): Promise<boolean> {
    const res = await this.pool.query(`INSERT INTO livekit_webhook_events (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [id]);
    return (res.rowCount ?? 0) === 1;
  }

  /** Forget ids older than any event still accepted (at most once a minute). */
  async prune(olderThanSeconds: number): Promise<void> {
    if (Date.now() - this.lastPrune < 60_000) return;
    this.lastPrune = Date.now();
    await this.pool.query(`DELETE FROM livekit_webhook_events WHERE received_at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
  }
}
