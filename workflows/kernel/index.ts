export { runbook, type Runbook } from './runbook';
export { stepActivities, undoActivities } from './activities';
export { forEachHost, type HostOutcome } from './fan-out';
