/** Runs a DnsAnswerer on 127.0.0.1:15053 with a fixed table; started inside a namespace by tests. */
import { DnsAnswerer } from './answerer.js';

const answerer = new DnsAnswerer({
  host: '127.0.0.1',
  port: 15053,
  namespace: 'default',
  nameTable: {
    table: {
      'mysql.example.com': { ips: ['240.240.0.1'], registry: 'External' },
      'reviews.default.svc.cluster.local': {
        ips: ['240.241.0.5'],
        registry: 'Kubernetes',
        shortname: 'reviews',
        namespace: 'default',
      },
    },
  },
});
await answerer.listen();
console.log('listening');
process.on('SIGTERM', () => answerer.close().then(() => process.exit(0)));
