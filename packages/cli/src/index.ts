export { buildProgram } from './program.js';
export { SLUICE_VERSION } from './version.js';
