import { describe, expect, it } from 'vitest';
import { simulatedGateway } from '../../support/simulated-gateway.js';
import {
  medianTimeToFirstToken,
  parseRawResponse,
  rawConnect,
  sustainedAttack,
  trickle,
} from '../../support/slow-attacker.js';

const HEADERS_MS = 1000;
/** Node checks the deadlines on a timer (a tenth of the bound here) and the machine may be loaded. */
const SLACK_MS = 1500;
/** Slow enough that a loaded 2-core machine's jitter is small beside it, so the 2x ratio means something. */
const PROMPT_EVAL_MS = 200;
const ATTACKERS = 100;

const fixture = simulatedGateway({
  CHATWIRE_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
  CHATWIRE_REQUEST_TIMEOUT_MS: String(HEADERS_MS * 2),
});

describe('headers trickled a byte at a time (slowloris)', () => {
  it('gets 408 and a closed connection at CHATWIRE_HEADERS_TIMEOUT_MS, while normal clients keep their time to first token', async () => {
    fixture.sim.behave({ promptEvalDelayMs: PROMPT_EVAL_MS });
    const baseline = await medianTimeToFirstToken(fixture.chatwire.url);
    const normalRequests = fixture.sim.requests.length;

    // Headers that would take minutes at this pace; only the bound can end them.
    const headers = `POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(5000)}\r\n\r\n`;
    const attack = await sustainedAttack(ATTACKERS, async () => {
      const client = await rawConnect(fixture.chatwire.url);
      trickle(client, headers, 20);
      return client;
    });
    const during = await medianTimeToFirstToken(fixture.chatwire.url);
    await Promise.all(attack.first.map((client) => client.closed));
    await attack.stop();

    for (const client of attack.first) {
      const heldMs = (client.closedAt as number) - client.openedAt;
      expect(heldMs).toBeGreaterThanOrEqual(HEADERS_MS - 50);
      expect(heldMs).toBeLessThan(HEADERS_MS + SLACK_MS);
      const { status, body } = parseRawResponse(client.received());
      expect(status).toBe(408);
      expect(body).toEqual({
        error: `request not received in time: its headers must arrive within ${HEADERS_MS} ms and all of it within ${HEADERS_MS * 2} ms`,
      });
    }
    // None of the trickled requests got as far as the model server.
    expect(fixture.sim.requests.length).toBe(normalRequests + 5);
    console.log(
      `trickled headers: ${ATTACKERS} attackers (${attack.replaced()} reconnections), ` +
        `TTFT median ${baseline.toFixed(0)} ms without, ${during.toFixed(0)} ms during`,
    );
    expect(during).toBeLessThanOrEqual(2 * baseline);
  });

  it('headers too large get 431, and bytes that are not HTTP 400, each in the JSON envelope, then the connection closes', async () => {
    const large = await rawConnect(fixture.chatwire.url);
    large.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    const garbage = await rawConnect(fixture.chatwire.url);
    garbage.socket.write('\x16\x03\x01 this is not HTTP\r\n\r\n');
    await Promise.all([large.closed, garbage.closed]);
    expect(parseRawResponse(large.received())).toEqual({
      status: 431,
      body: { error: 'request headers are too large' },
    });
    expect(parseRawResponse(garbage.received())).toEqual({
      status: 400,
      body: { error: 'malformed HTTP request' },
    });
  });
});
