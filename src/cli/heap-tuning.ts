import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets the old generation grow before its next full collection, in percent. V8's own factor
 * (up to 4× for a heap this small) lets a gateway holding many streams keep a lot of garbage: with 1,000
 * open streams chatwire peaked at about 200 MiB with V8's default and about 155 MiB with 10%, at the same
 * CPU per token (bench scenarios b and c). A `--heap-growing-percent` given to node itself wins.
 */
const HEAP_GROWING_PERCENT = 10;

export function tuneHeapForManyStreams(execArgv: string[] = process.execArgv): void {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent/.test(arg))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
