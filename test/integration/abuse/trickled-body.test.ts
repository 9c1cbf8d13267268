import { describe, expect, it } from 'vitest';
import { simulatedGateway } from '../../support/simulated-gateway.js';
import {
  medianTimeToFirstToken,
  parseRawResponse,
  type RawClient,
  rawConnect,
  sustainedAttack,
  trickle,
} from '../../support/slow-attacker.js';
import { postChat } from '../../support/start-gateway.js';

/** What the trickled body says: letters no id or hex digit contains ('aaaa' once matched a request id). */
const CANARY = 'zq-canary';

const HEADERS_MS = 500;
const REQUEST_MS = 1500;
/** Node checks the deadlines on a timer (every 50 ms here) and the machine may be loaded. */
const SLACK_MS = 1500;
/** Slow enough that a loaded 2-core machine's jitter is small beside it, so the 2x ratio means something. */
const PROMPT_EVAL_MS = 200;
const ATTACKERS = 100;
const EXPECTED_MESSAGE = `request not received in time: its headers must arrive within ${HEADERS_MS} ms and all of it within ${REQUEST_MS} ms`;

const logLines: Array<Record<string, unknown>> = [];

const fixture = simulatedGateway(
  {
    CHATWIRE_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
    CHATWIRE_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
    CHATWIRE_LOG_LEVEL: 'info',
  },
  { logLines },
);

/** Whole headers at once, then a body promised to be 5,000 bytes, one byte every 20 ms. */
async function trickleBody(path: string): Promise<RawClient> {
  const client = await rawConnect(fixture.chatwire.url);
  client.socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`,
  );
  trickle(client, `{"messages":[{"role":"user","content":"${CANARY.repeat(495)}"}]}`, 20);
  return client;
}

describe('a body trickled a byte at a time', () => {
  it('gets 408 in its route envelope and a closed connection at CHATWIRE_REQUEST_TIMEOUT_MS; normal clients keep their time to first token, and a stream longer than the bound runs to its end', async () => {
    fixture.sim.behave({ promptEvalDelayMs: PROMPT_EVAL_MS });
    const baseline = await medianTimeToFirstToken(fixture.chatwire.url);

    // A reply that streams for twice the request bound: the bound is on receiving the request, not on the answer.
    fixture.sim.behave({
      promptEvalDelayMs: PROMPT_EVAL_MS,
      tokens: Array(30).fill('tok '),
      tokenDelayMs: 100,
    });
    const longStarted = performance.now();
    const long = await postChat(fixture.chatwire.url);
    fixture.sim.behave({ promptEvalDelayMs: PROMPT_EVAL_MS });
    const longText = long.text();

    const openAi = await trickleBody('/v1/chat/completions');
    const attack = await sustainedAttack(ATTACKERS, () => trickleBody('/v1/chat'));
    const during = await medianTimeToFirstToken(fixture.chatwire.url);
    await Promise.all([openAi.closed, ...attack.first.map((client) => client.closed)]);
    await attack.stop();

    for (const client of attack.first) {
      const heldMs = (client.closedAt as number) - client.openedAt;
      expect(heldMs).toBeGreaterThanOrEqual(REQUEST_MS - 50);
      expect(heldMs).toBeLessThan(REQUEST_MS + SLACK_MS);
      expect(parseRawResponse(client.received())).toEqual({ status: 408, body: { error: EXPECTED_MESSAGE } });
    }
    // An OpenAI client reads the error the way OpenAI writes one.
    expect(parseRawResponse(openAi.received())).toEqual({
      status: 408,
      body: { error: { message: EXPECTED_MESSAGE, type: expect.any(String), param: null, code: null } },
    });

    expect(long.status).toBe(200);
    expect(await longText).toContain('"done":true');
    const longMs = performance.now() - longStarted;
    expect(longMs).toBeGreaterThan(REQUEST_MS);

    // The cut requests are the client's doing: no error in the log, and none of what they sent.
    expect(logLines.filter((line) => Number(line.level) >= 50)).toEqual([]);
    expect(JSON.stringify(logLines)).not.toContain(CANARY);
    const statuses = new Set(logLines.filter((line) => line.url === '/v1/chat').map((line) => line.status));
    // The request log counts a request cut before its body arrived as the client's leaving.
    expect([...statuses].sort()).toEqual([200, 499]);

    console.log(
      `trickled body: ${ATTACKERS} attackers (${attack.replaced()} reconnections), ` +
        `TTFT median ${baseline.toFixed(0)} ms without, ${during.toFixed(0)} ms during; a ${longMs.toFixed(0)} ms stream ran to its end`,
    );
    expect(during).toBeLessThanOrEqual(2 * baseline);
  });
});
