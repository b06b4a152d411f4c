// piscina and tinypool run the default export, or the export named in run().
export { cpu, inc, inc as default } from './work.mjs';
