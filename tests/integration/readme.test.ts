import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ROOM_ID } from '../../server/src/demo/seed.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The README's "Joining a room" snippets, executed exactly as printed: only
 * the server address is pointed at this test's server, and the snippet's
 * free variables (`server`, `roomId`, `identityToken`) are supplied.
 */
const root = path.resolve(import.meta.dirname, '../..');
const tmp = path.join(root, 'tests', '.tmp-readme');

function snippets(): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Joining a room'), readme.indexOf('### Seats, access and revocation'));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Turn a snippet into a module: imports stay on top, the rest runs inside `run(vars)` and returns the named results. */
function asModule(code: string, vars: string[], results: string[]): string {
  const lines = code.split('\n');
  const imports = lines.filter((l) => l.startsWith('import ')).map((l) => l.replace("'./client/src/sdk/index.ts'", `'${pathToFileURL(path.join(root, 'client/src/sdk/index.ts')).href}'`));
  const body = lines.filter((l) => !l.startsWith('import ')).join('\n');
  return `${imports.join('\n')}\nexport default async function run({ ${vars.join(', ')} }: Record<string, string>) {\n${body}\nreturn { ${results.join(', ')} };\n}\n`;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { SEED_DEMO: 'true' });
  mkdirSync(tmp, { recursive: true });
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await server?.stop();
});

describe('README: Joining a room', () => {
  it('has the two snippets this test runs', () => {
    expect(snippets()).toHaveLength(2);
  });

  it('the raw Colyseus snippet joins the room with a ticket', async () => {
    const [raw] = snippets();
    const file = path.join(tmp, 'raw-join.ts');
    writeFileSync(file, asModule(raw!, ['server', 'roomId', 'identityToken'], ['room']));
    const run = (await import(pathToFileURL(file).href)).default as (v: Record<string, string>) => Promise<{ room: { roomId: string; leave(): Promise<unknown>; state: unknown } }>;
    const adams = await server.as('dr.adams', { name: 'Dr. Adams' });
    const { room } = await run({ server: server.app.url, roomId: DEMO_ROOM_ID, identityToken: adams.api.identityToken! });
    expect(room.roomId).toBe(DEMO_ROOM_ID);
    await room.leave();
  });

  it('the SDK snippet joins the demo room and grabs the heart', async () => {
    const [, sdk] = snippets();
    expect(sdk).toContain("'http://localhost:2567'");
    const file = path.join(tmp, 'sdk-join.ts');
    writeFileSync(file, asModule(sdk!.replace("'http://localhost:2567'", 'server'), ['server'], ['session', 'grabbed']));
    const run = (await import(pathToFileURL(file).href)).default as (v: Record<string, string>) => Promise<{ session: { leave(): Promise<void> }; grabbed: unknown }>;
    const { session, grabbed } = await run({ server: server.app.url });
    expect(grabbed).toEqual({ ok: true, objectId: 'heart' });
    await session.leave();
  });
});
