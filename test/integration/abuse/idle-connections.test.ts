import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../support/pool-fixture.js';
import { simulatedGateway } from '../../support/simulated-gateway.js';
import {
  medianTimeToFirstToken,
  openConnections,
  openIdle,
  parseRawResponse,
  rawConnect,
  timeToFirstToken,
} from '../../support/slow-attacker.js';

/**
 * Both ends of each connection live in this process: 4,000 descriptors, well below the `ulimit -n` checked
 * below. Opening them takes 2-4 s on a loaded 2-core machine (3,000 took 4-6 s).
 */
const IDLE = 2000;
/** Room for the normal client's own keep-alive connection, and a few over-cap attempts that get in. */
const MAX_CONNECTIONS = IDLE + 10;
const EXTRA = 40;
/** Long enough to open the idle connections and measure normal clients among them before they are reaped. */
const HEADERS_MS = 8000;
const SLACK_MS = 2000;
const PROMPT_EVAL_MS = 200;

beforeAll(async () => {
  // Node cannot raise its own descriptor limit; a shell started from it has the same one.
  const limit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  if (limit !== 'unlimited' && Number(limit) < 2 * MAX_CONNECTIONS + 200)
    throw new Error(`ulimit -n is ${limit}: this test needs ${2 * MAX_CONNECTIONS + 200} descriptors`);
});
// Registered after the descriptor check, so it starts only once the check passed.
const fixture = simulatedGateway({
  CHATWIRE_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
  CHATWIRE_REQUEST_TIMEOUT_MS: String(HEADERS_MS),
  CHATWIRE_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
});

describe('thousands of idle connections', () => {
  it('are each closed with 408 at CHATWIRE_HEADERS_TIMEOUT_MS, the ones beyond CHATWIRE_MAX_CONNECTIONS at once, and normal clients keep their time to first token', async () => {
    fixture.sim.behave({ promptEvalDelayMs: PROMPT_EVAL_MS });
    const baseline = await medianTimeToFirstToken(fixture.chatwire.url);

    const openingStarted = performance.now();
    const idle = await openIdle(fixture.chatwire.url, IDLE, 500);
    const openingMs = performance.now() - openingStarted;
    const during = await medianTimeToFirstToken(fixture.chatwire.url);
    // The attack was whole while the normal clients were measured (else the machine was too slow to open them).
    expect(idle.filter((client) => client.closedAt !== undefined)).toHaveLength(0);

    // Beyond the cap a connection is accepted by the kernel and closed by chatwire before it reads anything.
    const extra = await Promise.all(Array.from({ length: EXTRA }, () => rawConnect(fixture.chatwire.url)));
    const closed = () => extra.filter((client) => client.closedAt !== undefined);
    await until('the connections beyond the cap are closed', () => closed().length >= EXTRA - 10, 3000);
    const refused = closed();
    for (const client of refused) {
      expect(client.received()).toBe('');
      expect((client.closedAt as number) - client.openedAt).toBeLessThan(HEADERS_MS / 2);
    }
    expect(await openConnections(fixture.chatwire.gateway.app.server)).toBeLessThanOrEqual(MAX_CONNECTIONS);

    await Promise.all(idle.map((client) => client.closed));
    for (const client of idle) {
      const heldMs = (client.closedAt as number) - client.openedAt;
      expect(heldMs).toBeGreaterThanOrEqual(HEADERS_MS - 50);
      expect(heldMs).toBeLessThan(HEADERS_MS + SLACK_MS);
      expect(parseRawResponse(client.received()).status).toBe(408);
    }
    for (const client of extra) client.socket.destroy();
    // Once they are reaped, there is room again.
    await timeToFirstToken(fixture.chatwire.url);

    console.log(
      `idle connections: ${IDLE} opened in ${openingMs.toFixed(0)} ms; ${refused.length} of ${EXTRA} beyond the cap closed at once; ` +
        `TTFT median ${baseline.toFixed(0)} ms without, ${during.toFixed(0)} ms during`,
    );
    expect(during).toBeLessThanOrEqual(2 * baseline);
  }, 30_000);
});
