/** Where a demo keeps its files and which names and addresses it uses. Plain data. */
import os from 'node:os';
import path from 'node:path';
import { defaultMysqlIp } from './runtime.js';

export interface DemoLayout {
  dataDir: string;
  /** The MariaDB instance lives outside the data dir: mariadbd (user `mysql`) cannot enter /root. */
  mysqlDir: string;
  meshName: string;
  subnet: string;
  mysqlIp: string;
  apiPort: number;
  xdsPort: number;
  pagePort: number;
  /** Written by the runtime process when everything is up. */
  runtimeFile: string;
  /** Written by the runtime process as soon as it starts (so `--down` finds a half-started one). */
  pidFile: string;
  /** stdout/stderr of the runtime process. */
  runtimeLog: string;
}

export function demoLayout(o: {
  dataDir: string;
  meshName?: string;
  subnet?: string;
  apiPort?: number;
  xdsPort?: number;
  pagePort?: number;
}): DemoLayout {
  const dataDir = path.resolve(o.dataDir);
  const meshName = o.meshName ?? 'mesh';
  const subnet = o.subnet ?? '10.233.77.0/24';
  return {
    dataDir,
    mysqlDir: path.join(os.tmpdir(), `sluice-demo-${meshName}-mysql`),
    meshName,
    subnet,
    mysqlIp: defaultMysqlIp(subnet),
    apiPort: o.apiPort ?? 15080,
    xdsPort: o.xdsPort ?? 15010,
    pagePort: o.pagePort ?? 9080,
    runtimeFile: path.join(dataDir, 'runtime.json'),
    pidFile: path.join(dataDir, 'runtime.pid'),
    runtimeLog: path.join(dataDir, 'runtime.log'),
  };
}
