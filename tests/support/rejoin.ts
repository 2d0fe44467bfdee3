import { ConsiliumClient, type ClinicSession } from '../../client/src/sdk/index.ts';

export async function signIn(url: string, userId: string, admin = false): Promise<ConsiliumClient> {
  const c = new ConsiliumClient(url);
  await c.api.devLogin({ userId, name: userId, admin });
  return c;
}

/**
 * Join as a user would after a crash: try, and on refusal try again (a fresh
 * ticket each time) until `deadlineMs`. Resolves with the session and how long
 * it took from `since`, or rejects with the last refusal.
 */
export async function joinWhenPossible(url: string, userId: string, roomId: string, since: number, deadlineMs: number): Promise<{ session: ClinicSession; ms: number; attempts: number; errors: string[] }> {
  const client = await signIn(url, userId);
  const errors: string[] = [];
  for (let attempts = 1; ; attempts++) {
    try {
      const session = await client.join(roomId);
      await session.ready();
      return { session, ms: Date.now() - since, attempts, errors };
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
      if (Date.now() - since > deadlineMs) throw new Error(`not joinable after ${Date.now() - since} ms: ${errors.slice(-3).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
