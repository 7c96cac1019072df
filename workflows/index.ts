// Every workflow the worker registers: one file per runbook.
export { smoke } from './smoke';
export { environmentLock } from './kernel/lock';
