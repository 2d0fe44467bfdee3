import type { Pool } from './pool.ts';

/** A user as Consilium last saw them (the identity provider's word at their last sign-in). */
export interface UserRow {
  id: string;
  name: string;
  admin: boolean;
  lastSeenAt: Date;
}

/** A user's last sighting is refreshed at most this often (their name or admin flag at once when it changes). */
export const TOUCH_EVERY_SECONDS = 60;

export class UsersRepo {
  constructor(private readonly pool: Pool) {}

  /**
   * Record that a user was seen (name and admin flag as the identity provider last said). Called on
   * reads the clients poll (the room list): the row is written only when the name or flag changed or
   * the last sighting is more than a minute old — otherwise no write, no dead row, no WAL.
   */
  async touch(user: { id: string; name: string; admin: boolean }): Promise<void> {
    await this.pool.query(
      `INSERT INTO users (id, name, is_admin) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, is_admin = EXCLUDED.is_admin, last_seen_at = now()
       WHERE users.name IS DISTINCT FROM EXCLUDED.name OR users.is_admin IS DISTINCT FROM EXCLUDED.is_admin
          OR users.last_seen_at < now() - interval '${TOUCH_EVERY_SECONDS} seconds'`,
      [user.id, user.name, user.admin],
    );
  }

  /** Has anyone signed in with this user id (is it anyone Consilium knows)? */
  async known(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`SELECT 1 FROM users WHERE id = $1`, [id]);
    return (rowCount ?? 0) > 0;
  }

  /** Display names of these ids, as last seen (ids nobody signed in with are left out). */
  async namesOf(ids: Iterable<string>): Promise<Record<string, string>> {
    const list = [...new Set(ids)];
    if (list.length === 0) return {};
    const { rows } = await this.pool.query<{ id: string; name: string }>(`SELECT id, name FROM users WHERE id = ANY($1::text[])`, [list]);
    return Object.fromEntries(rows.map((r) => [r.id, r.name]));
  }

  /**
   * Users whose id or name contains `q` (any case; `%` and `_` are literal); no `q`: everyone. `except`: an
   * id left out (the searcher). `order`: most recently seen first (the administrators' directory, which shows
   * when), or by name — for anyone else, whose answer must not say who signed in last, neither by its order
   * nor by which `limit` of the matches it holds.
   */
  async search(q: string | undefined, limit: number, except?: string, order: 'recent' | 'name' = 'recent'): Promise<UserRow[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (q) {
      params.push(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`(id ILIKE $${params.length} OR name ILIKE $${params.length})`);
    }
    if (except !== undefined) {
      params.push(except);
      where.push(`id <> $${params.length}`);
    }
    params.push(limit);
    const { rows } = await this.pool.query<{ id: string; name: string; is_admin: boolean; last_seen_at: Date }>(
      `SELECT id, name, is_admin, last_seen_at FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order === 'name' ? 'lower(name), name, id' : 'last_seen_at DESC'} LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, admin: r.is_admin, lastSeenAt: r.last_seen_at }));
  }

  /** Whether the identity provider last said this user is an administrator (false: not seen, or not one). */
  async isAdmin(id: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ is_admin: boolean }>(`SELECT is_admin FROM users WHERE id = $1`, [id]);
    return rows[0]?.is_admin === true;
  }
}
