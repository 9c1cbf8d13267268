import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets the old generation grow before its next full collection, in percent. V8's own factor
 * (up to 4× for a heap this small) lets a gateway holding many streams keep a lot of garbage: with 1,000
 * open streams (bench scenario c) chatwire peaked at about 170 MiB with V8's default. The figure trades
 * memory for collections, which with 1,000 streams arriving at once delay their first tokens; two quick
 * runs each of (c), with the young generation below: 10% → 128 MiB peak, TTFT +296 ms over direct;
 * 30% → 133 MiB, +145 ms; 50% → 142 MiB, +10 to +78 ms; 100% → 170 MiB.
 */
const HEAP_GROWING_PERCENT = 50;

/**
 * V8 doubles the young generation (up to two 16 MiB semi-spaces) whenever much survives a scavenge, which
 * loading the modules alone does, and keeps it at that size. A factor of 1 keeps it at its initial 1 MiB per
 * semi-space: about 20 MiB less at idle and 30 MiB less with 1,000 streams (bench scenarios b and c), for a
 * CPU per token within the runs' noise (19.9 against 19.4 µs, three runs each).
 */
const SEMI_SPACE_GROWTH_FACTOR = 1;

/**
 * Must run before the modules load (main.ts), since growth happens while they do. A value given
 * to node itself wins, as does any semi-space size given to it.
 */
export function tuneHeapForManyStreams(execArgv: string[] = process.execArgv): void {
  const given = (pattern: RegExp) => execArgv.some((arg) => pattern.test(arg));
  if (!given(/^--heap[-_]growing[-_]percent/)) {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  }
  if (!given(/^--(semi[-_]space[-_]growth[-_]factor|(max|min)[-_]semi[-_]space[-_]size)/)) {
    setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
  }
}
