import { afterEach, expect, it } from 'vitest';
import { killCrashChildren, runCrashCycles } from './crash-cycles.js';
import type { StoreBackend } from './databases.js';

const CYCLES = Number(process.env.CHATWIRE_CRASH_CYCLES ?? 50);

/**
 * The crash-consistency test for one database, shared by the SQLite and PostgreSQL files (separate files,
 * so vitest runs them side by side). CHATWIRE_CRASH_SEED replays a run.
 */
export function crashConsistencyTest(backend: StoreBackend): void {
  afterEach(killCrashChildren);
  const seed = Number(process.env.CHATWIRE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  it(
    `kill -9 at ${CYCLES} random moments of the write load keeps the database consistent and every acknowledged write`,
    async () => {
      const startedAt = performance.now();
      const run = await runCrashCycles(backend, {
        cycles: CYCLES,
        seed,
        killAfterEvents: [1, 200],
        workers: 4,
      });
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
      const starts = [...run.startMs].sort((a, b) => a - b);
      console.info(
        `crash consistency on ${backend.name}: seed ${seed} (CHATWIRE_CRASH_SEED replays it), ${seconds} s, ` +
          `start median ${Math.round(starts[starts.length >> 1] ?? 0)} ms; integrity: ${run.integrityCoverage}; ` +
          JSON.stringify(run.figures),
      );
      expect(run.problems, `seed ${seed}`).toEqual([]);
      expect(run.startMs).toHaveLength(CYCLES + 1);
      // Not vacuous: the kills did land in running replies, detached ones too, and after acknowledged writes.
      expect(run.figures.recoveredInterrupted).toBeGreaterThanOrEqual(CYCLES);
      expect(run.figures.recoveredDetached).toBeGreaterThan(0);
      expect(run.figures.recoveredWithText).toBeGreaterThan(0);
      expect(run.figures.foundComplete).toBeGreaterThan(0);
      expect(run.figures.acknowledgedWrites).toBeGreaterThan(CYCLES * 5);
    },
    CYCLES * 8_000,
  );
}
