import workerpool from 'workerpool';
import { cpu, inc } from './work.mjs';

workerpool.worker({ cpu, inc });
