import { describe, expect, it } from 'vitest';
import { until } from '../../support/pool-fixture.js';
import { simulatedGateway } from '../../support/simulated-gateway.js';
import { rawConnect } from '../../support/slow-attacker.js';

/** Shorter than the keep-alive bound: it must not be what closes a connection between requests. */
const HEADERS_MS = 500;
const KEEPALIVE_MS = 1500;
/** Node keeps an idle kept-alive connection a second longer than the Keep-Alive header it advertises. */
const NODE_KEEPALIVE_BUFFER_MS = 1000;
const SLACK_MS = 1500;

const fixture = simulatedGateway({
  CHATWIRE_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
  CHATWIRE_KEEPALIVE_TIMEOUT_MS: String(KEEPALIVE_MS),
});

describe('a kept-alive connection left idle after its request', () => {
  it('is told the idle time it has and closed after CHATWIRE_KEEPALIVE_TIMEOUT_MS', async () => {
    const client = await rawConnect(fixture.chatwire.url);
    client.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await until('the health check answered', () => /\r\n\r\nok$/.test(client.received()));
    const answeredAt = performance.now();
    await client.closed;
    const idleMs = (client.closedAt as number) - answeredAt;
    // Node advertises whole seconds.
    expect(client.received()).toContain(`Keep-Alive: timeout=${Math.floor(KEEPALIVE_MS / 1000)}`);
    expect(idleMs).toBeGreaterThanOrEqual(KEEPALIVE_MS);
    expect(idleMs).toBeLessThan(KEEPALIVE_MS + NODE_KEEPALIVE_BUFFER_MS + SLACK_MS);
    // Closed quietly: a second response would be one the client never asked for.
    expect(client.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });
});
