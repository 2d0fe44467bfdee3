import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES, loadConfig } from '../../server/src/config.ts';
import { parseYamlDocuments, type YamlValue } from '../support/yaml-subset.ts';

/**
 * The scale-out deployment files (no Kubernetes or Docker engine here; .ci/run also runs
 * `docker-compose -f docker-compose.yml -f docker-compose.scale.yml config -q`): every manifest parses,
 * has a known kind and the fields it needs, names only environment variables the server reads, and
 * a pod's resulting environment passes the server's own production configuration check. Per-pod routing
 * is checked end to end on paper: each pod's PUBLIC_URL path reaches a Service selecting that pod alone.
 */
const root = path.resolve(import.meta.dirname, '../..');
const k8sDir = path.join(root, 'deploy/k8s');
type Obj = { [key: string]: YamlValue };

const KINDS: Record<string, string> = {
  ConfigMap: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  StatefulSet: 'apps/v1',
  Deployment: 'apps/v1',
  Ingress: 'networking.k8s.io/v1',
};

const obj = (v: YamlValue | undefined, what: string): Obj => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} is not a mapping`);
  return v;
};
const list = (v: YamlValue | undefined, what: string): YamlValue[] => {
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v;
};
const str = (v: YamlValue | undefined, what: string): string => {
  if (typeof v !== 'string') throw new Error(`${what} is not a scalar`);
  return v;
};
const at = (v: YamlValue, ...keys: string[]): YamlValue => keys.reduce<YamlValue>((o, k) => obj(o, keys.join('.'))[k]!, v);

const manifests = readdirSync(k8sDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseYamlDocuments(readFileSync(path.join(k8sDir, f), 'utf8')).map((doc) => ({ file: f, doc: obj(doc, f) })));
const ofKind = (kind: string) => manifests.filter((m) => m.doc['kind'] === kind).map((m) => m.doc);
const named = (kind: string, name: string) => {
  const found = ofKind(kind).find((d) => at(d, 'metadata', 'name') === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
/** Helper variables of the manifests themselves (prefix K8S_): the server never reads them. */
const isEnvName = (n: string) => ENV_NAMES.includes(n) || n.startsWith('K8S_');

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('parse, and every object has a known kind with its apiVersion and a unique name', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    const seen = new Set<string>();
    for (const { file, doc } of manifests) {
      const kind = str(doc['kind'], `${file} kind`);
      expect(KINDS[kind], `${file}: kind ${kind}`).toBeDefined();
      expect(doc['apiVersion'], `${file}: ${kind} apiVersion`).toBe(KINDS[kind]);
      const name = str(at(doc, 'metadata', 'name'), `${file} metadata.name`);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(seen.has(`${kind}/${name}`), `${kind}/${name} twice`).toBe(false);
      seen.add(`${kind}/${name}`);
    }
    for (const kind of ['StatefulSet', 'Service', 'Ingress', 'ConfigMap']) expect(ofKind(kind).length, kind).toBeGreaterThan(0);
  });

  const sts = named('StatefulSet', 'consilium');
  const replicas = Number(str(at(sts, 'spec', 'replicas'), 'replicas'));
  const container = obj(list(at(sts, 'spec', 'template', 'spec', 'containers'), 'containers')[0], 'container');
  const config = obj(at(named('ConfigMap', 'consilium-config'), 'data'), 'data');
  const env = list(container['env'], 'env').map((e) => obj(e, 'env entry'));

  it('name only variables the server reads (config.ts), each once, and define helpers before use', () => {
    for (const key of Object.keys(config)) expect(isEnvName(key), `ConfigMap key ${key}`).toBe(true);
    const defined = new Set(Object.keys(config));
    for (const e of env) {
      const name = str(e['name'], 'env name');
      expect(isEnvName(name), `env ${name}`).toBe(true);
      expect(defined.has(name) && !Object.hasOwn(config, name), `env ${name} twice`).toBe(false);
      for (const [, ref] of String(e['value'] ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)) expect(defined.has(ref!), `${name} uses $(${ref}) before it is defined`).toBe(true);
      defined.add(name);
    }
    expect(at(obj(list(container['envFrom'], 'envFrom')[0], 'envFrom'), 'configMapRef', 'name')).toBe('consilium-config');
  });

  it("each pod's environment passes the server's production configuration check, with Redis and its own PUBLIC_URL", () => {
    const strong = () => randomBytes(36).toString('base64url');
    const secrets: Record<string, string> = {
      DATABASE_URL: `postgres://consilium_app:${strong()}@db.hospital.example:5432/consilium`,
      DATABASE_OWNER_URL: `postgres://consilium:${strong()}@db.hospital.example:5432/consilium`,
      LIVEKIT_API_SECRET: strong(),
      METRICS_TOKEN: strong(),
    };
    const urls = new Set<string>();
    for (let n = 0; n < replicas; n++) {
      const podEnv: Record<string, string> = { ...(config as Record<string, string>) };
      for (const e of env) {
        const name = str(e['name'], 'env name');
        const from = e['valueFrom'] ? obj(e['valueFrom'], 'valueFrom') : null;
        if (from?.['fieldRef']) {
          expect(at(from, 'fieldRef', 'fieldPath')).toBe('metadata.name');
          podEnv[name] = `consilium-${n}`;
        } else if (from?.['secretKeyRef']) {
          expect(at(from, 'secretKeyRef', 'name')).toBe('consilium-secrets');
          const key = str(at(from, 'secretKeyRef', 'key'), 'secret key');
          expect(secrets[key], `secret key ${key}`).toBeDefined();
          podEnv[name] = secrets[key]!;
        } else podEnv[name] = str(e['value'], `${name} value`).replace(/\$\(([A-Z0-9_]+)\)/g, (_, v: string) => podEnv[v]!);
      }
      const cfg = loadConfig(podEnv); // throws ConfigError listing every problem
      expect(cfg.nodeEnv).toBe('production');
      expect(cfg.redisUrl).not.toBeNull();
      expect(cfg.auth.mode).toBe('oidc');
      expect(cfg.auditCheckpoints?.keyFile.startsWith(mountOf('audit-key'))).toBe(true);
      expect(cfg.dataDir).toBe(mountOf('data'));
      urls.add(cfg.publicUrl!);
      expect(cfg.port).toBe(Number(str(at(obj(list(container['ports'], 'ports')[0], 'port'), 'containerPort'), 'containerPort')));
    }
    expect(urls.size).toBe(replicas); // every process its own address
  });

  const mountOf = (volume: string) => str(list(container['volumeMounts'], 'volumeMounts').map((m) => obj(m, 'mount')).find((m) => m['name'] === volume)?.['mountPath'], `${volume} mount`);

  it('readiness on /readyz and liveness on /healthz, on the named container port', () => {
    const port = obj(list(container['ports'], 'ports')[0], 'port');
    expect(port['name']).toBe('http');
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
    expect(at(container, 'readinessProbe', 'httpGet', 'port')).toBe('http');
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
    expect(at(container, 'livenessProbe', 'httpGet', 'port')).toBe('http');
    // SIGTERM: /readyz turns 503, rooms are saved and closed within 20 s (server/src/main.ts); leave it the time.
    expect(Number(str(at(sts, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds'), 'grace'))).toBeGreaterThanOrEqual(25);
    // The shared DATA_DIR (README: processes sharing a database share DATA_DIR).
    const claim = str(at(obj(list(at(sts, 'spec', 'template', 'spec', 'volumes'), 'volumes').find((v) => obj(v, 'volume')['name'] === 'data'), 'data'), 'persistentVolumeClaim', 'claimName'), 'claim');
    expect(list(at(named('PersistentVolumeClaim', claim), 'spec', 'accessModes'), 'accessModes')).toEqual(['ReadWriteMany']);
  });

  it("routes each pod's PUBLIC_URL path to a Service selecting that pod alone, and / to every pod", () => {
    const labels = obj(at(sts, 'spec', 'template', 'metadata', 'labels'), 'labels');
    expect(at(sts, 'spec', 'selector', 'matchLabels')).toEqual(labels);
    const base = new URL(str(config['K8S_PUBLIC_BASE_URL'], 'base'));
    const rules = ofKind('Ingress').flatMap((ing) =>
      list(at(ing, 'spec', 'rules'), 'rules').flatMap((r) => list(at(r, 'http', 'paths'), 'paths').map((p) => ({ ing, host: at(r, 'host'), p: obj(p, 'path') }))),
    );
    for (const { host } of rules) expect(host).toBe(base.host);
    const route = (url: string) => {
      const pathname = new URL(url).pathname;
      return rules.filter(({ p }) => (p['pathType'] === 'Prefix' ? pathname.startsWith(str(p['path'], 'path')) : new RegExp(`^${str(p['path'], 'path')}`).test(pathname))).sort((a, b) => str(b.p['path'], '').length - str(a.p['path'], '').length)[0];
    };
    const serviceFor = (r: ReturnType<typeof route>) => named('Service', str(at(r!.p, 'backend', 'service', 'name'), 'backend'));
    const targetOk = (svc: Obj) => {
      for (const p of list(at(svc, 'spec', 'ports'), 'ports')) expect(obj(p, 'port')['targetPort']).toBe('http');
    };
    for (let n = 0; n < replicas; n++) {
      const r = route(`${base.origin}/p/consilium-${n}/matchmake/joinById/x`);
      expect(r, `route for pod ${n}`).toBeDefined();
      expect(obj(at(r!.ing, 'metadata', 'annotations'), 'annotations')['nginx.ingress.kubernetes.io/rewrite-target']).toBe('/$2'); // the prefix is removed
      const svc = serviceFor(r);
      expect(at(svc, 'spec', 'selector')).toEqual({ 'statefulset.kubernetes.io/pod-name': `consilium-${n}` });
      targetOk(svc);
      expect(str(at(r!.ing, 'spec', 'ingressClassName'), 'class')).toBe('nginx');
    }
    const front = serviceFor(route(`${base.origin}/api/rooms`));
    expect(at(front, 'spec', 'selector')).toEqual(labels);
    targetOk(front);
    const redis = named('Service', new URL(str(config['REDIS_URL'], 'REDIS_URL')).hostname);
    expect(at(obj(list(at(redis, 'spec', 'ports'), 'ports')[0], 'port'), 'port')).toBe('6379');
  });
});

describe('docker-compose.scale.yml', () => {
  const [scale] = parseYamlDocuments(readFileSync(path.join(root, 'docker-compose.scale.yml'), 'utf8'));
  const [base] = parseYamlDocuments(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));
  const services = obj(at(scale!, 'services'), 'services');
  const baseApp = obj(at(base!, 'services', 'app', 'environment'), 'app env');
  const nginx = readFileSync(path.join(root, 'deploy/nginx/consilium-scale.conf'), 'utf8');

  it('runs three processes with the base app environment, each its own PUBLIC_URL path, routed by nginx to it alone', () => {
    const procs = ['app', 'app-2', 'app-3'];
    const lbAddress = at(at(at(services['lb']!, 'networks'), 'default'), 'ipv4_address');
    expect(lbAddress).toMatch(/^172\.28\.0\.\d+$/);
    for (const [i, name] of procs.entries()) {
      const envOf = name === 'app' ? { ...baseApp, ...obj(at(services[name]!, 'environment'), name) } : obj(at(services[name]!, 'environment'), name);
      for (const key of Object.keys(envOf)) expect(isEnvName(key), `${name}: ${key}`).toBe(true);
      // The same settings as the base app (only PUBLIC_URL, TRUSTED_PROXIES and DATA_DIR, shared by all three, differ).
      expect(Object.keys(envOf).sort(), name).toEqual([...new Set([...Object.keys(baseApp), 'DATA_DIR'])].sort());
      for (const [k, v] of Object.entries(baseApp)) if (k !== 'PUBLIC_URL' && k !== 'TRUSTED_PROXIES') expect(envOf[k], `${name}: ${k}`).toBe(v);
      // Each process believes X-Forwarded-For from the balancer alone (its fixed address), so rate limits count users.
      expect(envOf['TRUSTED_PROXIES'], name).toBe(lbAddress);
      expect(envOf['PUBLIC_URL']).toBe(`\${PUBLIC_URL:-}/p/${i + 1}`);
      expect(envOf['DATA_DIR']).toBe('/var/lib/consilium-data');
      expect(nginx).toContain(`location /p/${i + 1}/ { proxy_pass http://${name}:2567/; }`);
      expect(nginx).toMatch(new RegExp(`upstream consilium \\{[^}]*server ${name}:2567`));
    }
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade/);
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for/);
    expect(list(at(services['lb']!, 'depends_on'), 'lb depends_on')).toEqual(procs);
  });
});
