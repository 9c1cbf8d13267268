import type { Page } from 'playwright-core';
import { expect } from 'vitest';

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * Traces the page's main thread; the function it returns stops and gives the CPU time of each task, in ms.
 * CPU time, not wall time: on a loaded machine a PerformanceObserver reports 100 ms "long tasks" for 2 ms of
 * work while the renderer waits for a core, so only CPU time tells what the page itself does.
 */
export async function traceMainThreadTasks(page: Page): Promise<() => Promise<number[]>> {
  const cdp = await page.context().newCDPSession(page);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', ({ value }) => events.push(...(value as unknown as TraceEvent[])));
  await cdp.send('Tracing.start', {
    traceConfig: { includedCategories: ['toplevel', '__metadata'] },
    transferMode: 'ReportEvents',
  });
  return async () => {
    const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.end');
    await complete;
    await cdp.detach();
    const main = events.filter(
      (event) => event.name === 'thread_name' && event.args?.name === 'CrRendererMain',
    );
    expect(main.length).toBeGreaterThan(0);
    const tasks = events.filter(
      (event) =>
        event.ph === 'X' &&
        event.tdur !== undefined &&
        main.some((thread) => thread.pid === event.pid && thread.tid === event.tid),
    );
    expect(tasks.length).toBeGreaterThan(100);
    return tasks.map((task) => (task.tdur ?? 0) / 1000);
  };
}
