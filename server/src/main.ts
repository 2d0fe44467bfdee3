import { setSourceMapsSupport } from 'node:module';

// tsx turns source maps on for every module, libraries included (process.setSourceMapsEnabled): Node
// then reads each library's .map file and keeps it parsed, sources and all, for the process's life —
// ~4 MB of heap for stack frames inside node_modules, which print as the library's own JavaScript
// without it. Our TypeScript stays mapped. Everything else is imported below, after this line has run:
// static imports would be loaded (and their maps cached) before it.
setSourceMapsSupport(true, { nodeModules: false, generatedCode: false });

async function main(): Promise<void> {
  const { ConfigError, loadConfig } = await import('./config.ts');
  const { createLogger } = await import('./logger.ts');
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  if (config.nodeEnv === 'development') await (await import('./web-build.ts')).ensureClientBuilt(createLogger(config.logLevel));
  const { createApp } = await import('./app.ts');
  const { DEMO_ROOM_ID, DEMO_USERS } = await import('./demo/seed.ts');
  const app = await createApp(config);
  app.logger.info({ url: app.url }, 'Consilium is listening');
  if (app.devIdentity) {
    const lines = [
      '',
      `  Consilium is running at ${app.url}   (admin console: ${app.url}/admin)`,
      `  Demo room: ${DEMO_ROOM_ID}  (${app.demoSeeded ? 'seeded just now' : 'already seeded'})`,
      `  Demo users: ${DEMO_USERS.map((u) => `${u.userId} (${u.role})`).join(', ')}`,
      '  Join it from a script:',
      `    curl -s -XPOST ${app.url}/api/dev/login -H 'content-type: application/json' -d '{"userId":"dr.adams","name":"Dr. Adams"}'`,
      `    curl -s -XPOST ${app.url}/api/rooms/${DEMO_ROOM_ID}/tickets -H "authorization: Bearer <token>"`,
      '    then joinById(roomId, { protocolVersion }) with the ticket (see README "Joining a room")',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down: persisting rooms');
    const timer = setTimeout(() => {
      app.logger.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    timer.unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('Consilium failed to start:', err);
  process.exit(1);
});
