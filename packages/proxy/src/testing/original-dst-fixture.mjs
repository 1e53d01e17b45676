// Runs inside a test network namespace: listens on the capture port, connects to a peer address that
// an iptables REDIRECT rule sends back to that listener, prints what SO_ORIGINAL_DST reports.
import { createRequire } from 'node:module';
import net from 'node:net';

const [addonPath, listenPort, peer, peerPort] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
const server = net.createServer((socket) => {
  process.stdout.write(`${JSON.stringify(addon.originalDst(socket._handle.fd))}\n`);
  socket.destroy();
  server.close();
});
server.listen(Number(listenPort), '0.0.0.0', () => {
  net.connect(Number(peerPort), peer).on('error', () => {});
});
setTimeout(() => process.exit(2), 5000).unref();
