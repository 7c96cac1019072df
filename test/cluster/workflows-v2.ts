// The worker's workflows as the next build ships them: everything as today, smoke changed.
export * from '../workflows';
export { smoke } from './smoke-v2';
