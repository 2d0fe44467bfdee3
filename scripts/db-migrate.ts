/**
 * `npm run db:migrate`: apply migrations as the owner (DATABASE_OWNER_URL) and
 * grant the app role named in DATABASE_URL what the server needs — on the audit
 * tables only SELECT and INSERT. For deployments where the server itself never
 * holds the owner's credentials (see docs/AUDIT.md).
 */
import { loadConfig } from '../server/src/config.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { grantAppRole, roleOfUrl } from '../server/src/db/roles.ts';

const config = loadConfig(process.env);
const appRole = config.databaseUrl ? roleOfUrl(config.databaseUrl) : null;
if (!config.databaseOwnerUrl || !appRole) {
  console.error('db:migrate needs DATABASE_OWNER_URL (the owner) and DATABASE_URL naming the app role (postgres://<app role>:…@host/db)');
  process.exit(2);
}
const applied = await migrate(config.databaseOwnerUrl);
await grantAppRole(config.databaseOwnerUrl, appRole);
console.log(`migrations applied: ${applied.length ? applied.join(', ') : 'none pending'}; role ${appRole} granted (audit tables: SELECT, INSERT only)`);
