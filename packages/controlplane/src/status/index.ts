export {
  CONFLICT_CONDITION_TYPE,
  conflictMessage,
  nextServiceEntryStatus,
  planServiceEntryStatuses,
  type ServiceEntryStatusPlan,
  SHARED_PORT_CONFLICT_REASON,
  type StatusCondition,
  withAllocatedVips,
} from './service-entry-status.js';
export {
  StatusController,
  type StatusControllerOptions,
  type StatusLogger,
  type StatusPassResult,
} from './status-controller.js';
export { CONFLICT_METRIC, type StatusMetrics } from './status-metrics.js';
