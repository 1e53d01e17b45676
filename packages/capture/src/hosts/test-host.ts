import type { ChildProcess } from 'node:child_process';
import { HostSetupError } from '../errors.js';
import { type ExecOptions, execInNetns } from './exec-in-netns.js';
import type { MeshNetwork } from './mesh-network.js';
import { checkHostAddress, createJoinedNetns, hostNames, removeNetnsHost } from './netns-host.js';
import type { NetnsHost } from './workload-host.js';

export interface TestHostOptions {
  mesh: MeshNetwork;
  name: string;
  /** Address in the mesh subnet (by convention .200-.254). */
  ip: string;
}

/** A host outside the mesh (an "external" server such as MySQL): no capture, only the connected route. */
export interface TestHost extends NetnsHost {
  readonly kind: 'test';
}

/** Creates a namespace on the mesh bridge without capture rules and without a default route. */
export async function createTestHost(options: TestHostOptions): Promise<TestHost> {
  const names = hostNames(options.mesh, options.name);
  const address = checkHostAddress(options.mesh, options.ip);
  try {
    await createJoinedNetns(options.mesh, names, address);
  } catch (err) {
    throw new HostSetupError(`creating test host ${names.netns} (${address})`, err);
  }
  let destroyed: Promise<void> | undefined;
  return Object.freeze({
    kind: 'test' as const,
    name: options.name,
    netns: names.netns,
    ip: address,
    mesh: options.mesh,
    vethHost: names.vethHost,
    exec: (argv: readonly string[], execOptions?: ExecOptions): ChildProcess =>
      execInNetns(names.netns, argv, execOptions),
    destroy: () => {
      destroyed ??= removeNetnsHost(names).then(() => undefined);
      return destroyed;
    },
  });
}
