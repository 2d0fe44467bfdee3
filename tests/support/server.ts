import { pino } from 'pino';
import { ConsiliumClient, type ClinicSession } from '../../client/src/sdk/index.ts';
import type { CreateRoomBody, RoomDto } from '../../shared/src/http.ts';
import { createApp, type App, type AppOverrides } from '../../server/src/app.ts';
import { loadConfig, type Config } from '../../server/src/config.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export interface TestServer {
  app: App;
  db: TestDatabase;
  config: Config;
  /** A signed-in SDK client (development identity provider). */
  as(userId: string, opts?: { admin?: boolean; name?: string; scopes?: string[] }): Promise<ConsiliumClient>;
  /**
   * Sign in as the web client does (its first call lists the rooms): from then on Consilium knows the user —
   * found by name, and grantable a recording (a user id nobody signed in with is refused, USER_NOT_FOUND).
   */
  signIn(userId: string, opts?: { admin?: boolean; name?: string; scopes?: string[] }): Promise<ConsiliumClient>;
  /** Sign in as this user, get a ticket and join the room; resolves once the state has arrived. */
  join(userId: string, roomId: string, opts?: { name?: string }): Promise<ClinicSession>;
  /** Create a room as an administrator. */
  createRoom(body: Partial<CreateRoomBody> & Pick<CreateRoomBody, 'participants'>): Promise<RoomDto>;
  stop(): Promise<void>;
}

/** Connects as the database's app role; migrations run as its owner. */
export function testConfig(db: TestDatabase, env: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', ...db.env, LOG_LEVEL: 'silent', HTTP_RATE_LIMIT_PER_MINUTE: '100000', JOIN_RATE_LIMIT_PER_MINUTE: '100000', ...env });
}

/** Boots the real app (app.ts) on port 0 against a fresh database. */
export async function startTestServer(overrides: AppOverrides = {}, env: Record<string, string> = {}, db?: TestDatabase): Promise<TestServer> {
  const database = db ?? (await createTestDatabase());
  const config = testConfig(database, env);
  const app = await createApp(config, { logger: pino({ level: 'silent' }), reconnectSeconds: 5, ...overrides });
  let admin: ConsiliumClient | null = null;
  const server: TestServer = {
    app,
    db: database,
    config,
    async as(userId, opts = {}) {
      const client = new ConsiliumClient(app.url);
      await client.api.devLogin({ userId, name: opts.name ?? userId, admin: opts.admin ?? false, ...(opts.scopes ? { scopes: opts.scopes } : {}) });
      return client;
    },
    async signIn(userId, opts = {}) {
      const client = await server.as(userId, opts);
      await client.api.listRooms();
      return client;
    },
    async join(userId, roomId, opts = {}) {
      const session = await (await server.as(userId, opts)).join(roomId);
      await session.ready();
      return session;
    },
    async createRoom(body) {
      admin ??= await server.as('it.admin', { admin: true, name: 'IT Admin' });
      return admin.api.createRoom({ title: 'Test room', kind: 'case-conference', ...body });
    },
    async stop() {
      await app.close();
      if (!db) await database.drop();
    },
  };
  return server;
}
