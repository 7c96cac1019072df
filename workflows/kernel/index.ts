export { runbook, type Runbook } from './runbook';
export { stepActivities, undoActivities } from './activities';
