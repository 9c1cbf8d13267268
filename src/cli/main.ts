#!/usr/bin/env node
// The heap is tuned before the rest of the program is even parsed: loading modules is what grows V8's young
// generation (see heap-tuning.ts), and static imports would all load before this module's first line ran.
import { tuneHeapForManyStreams } from './heap-tuning.js';

tuneHeapForManyStreams();
await import('./program.js');
