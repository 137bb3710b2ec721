export * from './allocation.js';
export * from './catalog.js';
export * from './counters.js';
export * from './cycles.js';
export * from './errors.js';
export * from './recommendation.js';
export * from './usage-time.js';
export * from './warning.js';
