/** Maps the store's failures onto Kubernetes Status errors. */
import { StoreError } from '@sluice/store';
import type { ResourceTarget } from './routes.js';
import { ApiError, errors } from './status.js';

/**
 * For reads of one object: a name the store refuses as a key (too long, say) names nothing, so the
 * answer is NotFound, as from Kubernetes.
 */
export function fromStoreReadError(err: unknown, target: ResourceTarget, name: string): ApiError {
  if (err instanceof StoreError && err.code === 'Invalid')
    return errors.notFound(target.kind.plural, target.kind.group, name);
  return fromStoreError(err, target, name);
}

export function fromStoreError(err: unknown, target: ResourceTarget, name: string): ApiError {
  if (err instanceof ApiError) return err;
  if (!(err instanceof StoreError)) return errors.internal(err instanceof Error ? err.message : String(err));
  const { plural, group } = target.kind;
  switch (err.code) {
    case 'NotFound':
      return errors.notFound(plural, group, name);
    case 'AlreadyExists':
      return errors.alreadyExists(plural, group, name);
    case 'Conflict':
      return errors.conflict(
        plural,
        group,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    case 'Gone':
      return errors.gone(err.message);
    case 'Invalid':
      return errors.badRequest(err.message);
    case 'Unavailable':
      return errors.unavailable(err.message);
  }
  return errors.internal(err.message);
}
