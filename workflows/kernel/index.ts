export { runbook, type Runbook } from './runbook';
export { stepActivities, undoActivities } from './activities';
export { forEachHost, onEvery, type HostOutcome } from './fan-out';
