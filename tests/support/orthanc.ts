import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eventually } from './eventually.ts';
import { freePort } from './process.ts';

/** Debian's Orthanc (apt: orthanc orthanc-dicomweb; .ci/run installs them). */
export const ORTHANC = process.env.ORTHANC_PATH || '/usr/sbin/Orthanc';
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface TestOrthanc {
  /** The DICOMweb root, e.g. http://127.0.0.1:PORT/dicom-web */
  dicomwebUrl: string;
  url: string;
  user: string;
  password: string;
  /** POST /instances: store one Part 10 file as published. */
  store(file: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

/** A real PACS for one test file: its own loopback port, storage folder and basic-auth user. */
export async function startOrthanc(): Promise<TestOrthanc> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'consilium-orthanc-'));
  const [httpPort, dicomPort] = [await freePort(), await freePort()];
  const user = 'consilium';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({
    Name: 'consilium-test',
    HttpPort: httpPort,
    DicomPort: dicomPort,
    StorageDirectory: path.join(dir, 'db'),
    IndexDirectory: path.join(dir, 'db'),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
  }));
  const child: ChildProcess = spawn(ORTHANC, [path.join(dir, 'config.json')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${httpPort}`;
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  await eventually(async () => (await fetch(`${url}/system`, { headers: { Authorization: auth } }).catch(() => null))?.ok, 20_000, 100);
  return {
    dicomwebUrl: `${url}/dicom-web`,
    url,
    user,
    password,
    async store(file) {
      const res = await fetch(`${url}/instances`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/dicom' }, body: file as unknown as BodyInit });
      if (!res.ok) throw new Error(`Orthanc refused the instance: ${res.status}`);
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
