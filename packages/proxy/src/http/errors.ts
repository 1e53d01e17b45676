/** A RouteConfiguration outside the implemented subset; `message` is the NACK detail. */
export class RouteConfigError extends Error {
  readonly code = 'ROUTE_CONFIG_INVALID';
  override readonly name = 'RouteConfigError';
}
