import type { Pool } from './pool.ts';

export class UsersRepo {
  constructor(private readonly pool: Pool) {}

  /** Record that a user was seen (name and admin flag as the identity provider last said). */
  async touch(user: { id: string; name: string; admin: boolean }): Promise<void> {
    await this.pool.query(
      `INSERT INTO users (id, name, is_admin) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, is_admin = EXCLUDED.is_admin, last_seen_at = now()`,
      [user.id, user.name, user.admin],
    );
  }

  /** Whether the identity provider last said this user is an administrator (false: not seen, or not one). */
  async isAdmin(id: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ is_admin: boolean }>(`SELECT is_admin FROM users WHERE id = $1`, [id]);
    return rows[0]?.is_admin === true;
  }
}
