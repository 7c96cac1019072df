export { runbook, type Runbook } from './runbook';
export { LONG_STEP, stepActivities, undoActivities } from './activities';
export { forEachHost, onEvery, type HostOutcome } from './fan-out';
