/**
 * Child-process entry that runs one control plane (`startControlPlane`) so a scenario can SIGKILL
 * it. Options come as one JSON argument; once listening it prints one JSON line with its ports and
 * kubeconfig. SIGTERM closes it gracefully. Started by `mesh-cp-process.ts`.
 */
import { startControlPlane } from '@sluice/controlplane';
import pino from 'pino';

interface LauncherOptions {
  dataDir: string;
  apiPort: number;
  xdsPort: number;
  xdsAddresses: string[];
  store?: 'sqlite' | 'etcd';
  etcdEndpoints?: string[];
}

const o = JSON.parse(process.argv[2] ?? '{}') as LauncherOptions;
const logger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'warn' }, pino.destination(2));
const cp = await startControlPlane({
  dataDir: o.dataDir,
  apiPort: o.apiPort,
  xdsPort: o.xdsPort,
  xdsAddresses: o.xdsAddresses,
  logger,
  ...(o.store ? { store: o.store } : {}),
  ...(o.etcdEndpoints ? { etcdEndpoints: o.etcdEndpoints } : {}),
});
process.stdout.write(
  `${JSON.stringify({ apiUrl: cp.apiUrl, apiPort: cp.apiPort, xdsPort: cp.xdsPort, kubeconfigPath: cp.kubeconfigPath })}\n`,
);
process.on('SIGTERM', () => {
  void cp.close().finally(() => process.exit(0));
});
