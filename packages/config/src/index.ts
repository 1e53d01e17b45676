export * from './kinds.js';
export * from './resource.js';
