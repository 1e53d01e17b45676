/** TLS inspection for SNI routing: read a ClientHello without terminating TLS, and match server names. */
export { type ClientHelloParse, parseClientHello } from './client-hello.js';
export { type ClientHelloResult, MAX_CLIENT_HELLO_BYTES, readClientHello } from './read-client-hello.js';
export { matchServerName } from './server-name.js';
