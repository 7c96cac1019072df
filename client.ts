// The client API a program uses to start, watch and decide runs (the CLI is built on it): connect,
// check and start a run, read its progress, and the messages that approve a gate or decide at a
// failure gate. Thin: each name is defined where it lives and re-exported here.
export { connectClient } from './src/temporal';
export { freezeRefusal, prepareRun, startRun, type PreparedRun, type StartRequest, type Started } from './src/start';
export { findRunbook, RUNBOOKS, type RunbookSpec } from './src/runbooks';
export { readStatus, type RunStatus } from './cli/progress';
export {
  approvalSignal,
  approveUpdate,
  decideFailureUpdate,
  failureDecisionSignal,
  progressQuery,
  RunbookEnvKey,
  RunbookNameKey,
  RunbookStateKey,
  type ApprovalInput,
  type FailureDecisionInput,
  type RunInput,
  type RunProgress,
  type RunResult,
} from './common/shared';
