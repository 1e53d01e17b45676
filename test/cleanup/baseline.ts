/** Records what the machine looks like before the suite (see leftovers.test.ts). Usage: baseline.ts DIR */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { iptablesRules, links, meshPortListeners, netnsList } from './machine-state.js';

const dir = process.argv[2] as string;
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'netns'), JSON.stringify(netnsList()));
writeFileSync(path.join(dir, 'links'), JSON.stringify(links()));
writeFileSync(path.join(dir, 'ports'), JSON.stringify(meshPortListeners()));
writeFileSync(path.join(dir, 'iptables'), iptablesRules('iptables-save'));
writeFileSync(path.join(dir, 'ip6tables'), iptablesRules('ip6tables-save'));
