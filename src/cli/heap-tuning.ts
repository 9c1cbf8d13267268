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
 * loading the modules alone does, and keeps it at that size. A factor of 1 while the modules load keeps it at
 * its initial 1 MiB per semi-space: about 20 MiB less at idle. Once chatwire listens, V8's own factor applies
 * again, so the young generation grows only under load. Kept at 1 MiB under load, it made 1,000 open streams
 * (bench scenario c) cost about a third more CPU per token: every scavenge copied the streams' live state,
 * and promoted it early into the old generation. Quick runs of (c) on a busy machine, CPU per token by the
 * largest semi-space allowed: 1 MiB 67 µs, 4 MiB 60.5, 8 MiB 61.5, 16 MiB 45.5; peak RSS 160, 170, 178 and
 * 197 MiB.
 */
const SEMI_SPACE_GROWTH_FACTOR = 1;
const V8_SEMI_SPACE_GROWTH_FACTOR = 2;

let youngGenerationHeld = false;

/**
 * Must run before the modules load (main.ts), since growth happens while they do. A value given
 * to node itself (on its command line or in NODE_OPTIONS) wins, as does any semi-space size given to it.
 */
export function tuneHeapForManyStreams(
  execArgv: string[] = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)],
): void {
  const given = (pattern: RegExp) => execArgv.some((arg) => pattern.test(arg));
  if (!given(/^--heap[-_]growing[-_]percent/)) {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  }
  if (!given(/^--(semi[-_]space[-_]growth[-_]factor|(max|min)[-_]semi[-_]space[-_]size)/)) {
    setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
    youngGenerationHeld = true;
  }
}

/** Once started: the young generation may grow with the load again (V8 reads the factor at each growth). */
export function letYoungGenerationGrow(): void {
  if (!youngGenerationHeld) return;
  youngGenerationHeld = false;
  setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
}
