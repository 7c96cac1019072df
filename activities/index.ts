// Every activity the worker registers.
export * from './markers';
export * from './hosts';
export * from './notify';
export * from './temporal';
export * from './release';
export * from './lb';
export * from './database';
export * from './provision';
export * from './backup';
export * from './restore';
export * from './certificates';
export * from './health';
export * from './schedules';
