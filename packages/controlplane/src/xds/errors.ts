/** Failures of the xDS server, each with a stable `code`. */
export class XdsServerClosedError extends Error {
  readonly code = 'XDS_SERVER_CLOSED';
  constructor() {
    super('the xDS server is closed');
  }
}

export class XdsListenError extends Error {
  readonly code = 'XDS_LISTEN';
}
