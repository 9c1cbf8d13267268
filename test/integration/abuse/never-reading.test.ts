import { beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../support/pool-fixture.js';
import { simulatedGateway } from '../../support/simulated-gateway.js';
import {
  medianTimeToFirstToken,
  type RawClient,
  rawChatRequest,
  rawConnect,
  watchServerSockets,
} from '../../support/slow-attacker.js';

/** Long enough that the never-readers are still held while normal clients are measured among them. */
const SEND_MS = 2000;
/** Filling the socket buffers (some 9 MB each here: loopback TCP autotuning) takes seconds on a loaded machine. */
const FILL_MS = 8000;
/** Timers on a loaded machine, and Node's close: how late past the bound chatwire may act. */
const LATE_MS = 1500;
const PROMPT_EVAL_MS = 200;
const ATTACKERS = 3;
/** ~20 MB: more than the kernel and chatwire buffer between the model server and a client that never reads. */
const LONG_REPLY = { tokens: Array(600).fill('x'.repeat(32 * 1024)), tokenDelayMs: 1 };

let serverSockets: ReturnType<typeof watchServerSockets>;

const fixture = simulatedGateway({ CHATWIRE_SEND_TIMEOUT_MS: String(SEND_MS) });
beforeAll(() => {
  serverSockets = watchServerSockets(fixture.chatwire.gateway.app.server);
});

/** Sends a whole streaming chat request, then never reads a byte of the answer. */
async function neverReader(headers: Record<string, string> = {}): Promise<RawClient & { sentAt: number }> {
  const client = await rawConnect(fixture.chatwire.url);
  client.socket.pause();
  client.socket.write(rawChatRequest(headers));
  return Object.assign(client, { sentAt: performance.now() });
}

/** What the never-reader finds once it reads at last: everything chatwire had handed over, then the end. */
async function readAtLast(client: RawClient): Promise<string> {
  client.socket.resume();
  await client.closed;
  return client.received();
}

/** When each chat request's upstream bytes last grew: about when chatwire stopped reading them. */
function watchUpstreamStalls(requests: number[]) {
  const lastGrowth = requests.map(() => performance.now());
  const lengths = requests.map(() => 0);
  const timer = setInterval(() => {
    requests.forEach((index, i) => {
      const length = fixture.sim.sent[index]?.length ?? 0;
      if (length !== lengths[i]) {
        lengths[i] = length;
        lastGrowth[i] = performance.now();
      }
    });
  }, 10);
  return { lastGrowth, stop: () => clearInterval(timer) };
}

function serverSideClosedAt(client: RawClient): number | undefined {
  return serverSockets.get(client.socket.localPort as number)?.closedAt;
}

describe('a client that stops reading a stream', () => {
  it('is taken as gone after CHATWIRE_SEND_TIMEOUT_MS with its buffer full: its socket is closed and the upstream aborted (policy abort), while normal clients keep their time to first token', async () => {
    fixture.sim.behave({ promptEvalDelayMs: PROMPT_EVAL_MS });
    const baseline = await medianTimeToFirstToken(fixture.chatwire.url);

    const before = fixture.sim.requests.length;
    fixture.sim.behave({ ...LONG_REPLY, promptEvalDelayMs: PROMPT_EVAL_MS });
    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => neverReader()));
    const stalls = watchUpstreamStalls(attackers.map((_, i) => before + i));
    // The simulator takes each request's behaviour when it arrives; normal clients get short replies again.
    await until(
      'the never-readers reached the model server',
      () => fixture.sim.requests.length >= before + ATTACKERS,
    );
    fixture.sim.behave({ promptEvalDelayMs: PROMPT_EVAL_MS });
    const during = await medianTimeToFirstToken(fixture.chatwire.url);
    const measuredAt = performance.now();

    const aborts = await Promise.all(attackers.map(() => fixture.sim.nextAbort()));
    stalls.stop();
    const firstSent = Math.min(...attackers.map((client) => client.sentAt));
    const lastSent = Math.max(...attackers.map((client) => client.sentAt));
    const stalledAt = [...stalls.lastGrowth].sort((a, b) => a - b);
    const abortedAt = aborts.map((abort) => abort.at).sort((a, b) => a - b);
    for (const [i, abort] of aborts.entries()) {
      expect(abort.phase).toBe('stream');
      // The wait cannot have begun before the request was sent, nor after the upstream's bytes stopped
      // (they stop only once chatwire stops reading them, a moment after it starts waiting).
      expect(abort.at - lastSent).toBeGreaterThanOrEqual(SEND_MS);
      expect((abortedAt[i] as number) - (stalledAt[i] as number)).toBeLessThan(SEND_MS + LATE_MS);
      // The attack held its streams for the whole measurement of the normal clients.
      expect(abort.at).toBeGreaterThan(measuredAt);
    }
    for (const client of attackers) {
      const closedAt = serverSideClosedAt(client) as number;
      expect(closedAt - client.sentAt).toBeGreaterThanOrEqual(SEND_MS);
      const text = await readAtLast(client);
      // The status went out with the first token; a client that never read cannot be sent an error line
      // either, so its stream just ends, short of its done line.
      expect(text.startsWith('HTTP/1.1 200 OK')).toBe(true);
      expect(text).not.toContain('"done":true');
      expect(text).not.toContain('"error"');
      expect(text.length).toBeLessThan(LONG_REPLY.tokens.length * 32 * 1024);
    }

    console.log(
      `never-reading clients: ${ATTACKERS}, upstream aborted ${aborts.map((abort) => (abort.at - firstSent).toFixed(0)).join(', ')} ms after their requests, ` +
        `${abortedAt.map((at, i) => (at - (stalledAt[i] as number)).toFixed(0)).join(', ')} ms after their upstream stalled (bound ${SEND_MS} ms); TTFT median ${baseline.toFixed(0)} ms without, ${during.toFixed(0)} ms during`,
    );
    expect(during).toBeLessThanOrEqual(2 * baseline);
  }, 30_000);

  it('with policy detach, loses its connection after CHATWIRE_SEND_TIMEOUT_MS while the generation runs on to its end upstream', async () => {
    fixture.sim.reset();
    fixture.sim.behave(LONG_REPLY);
    const client = await neverReader({ 'chatwire-on-disconnect': 'detach' });
    await until('the never-reader reached the model server', () => fixture.sim.requests.length === 1);
    await until(
      'chatwire closed the never-reader',
      () => serverSideClosedAt(client) !== undefined,
      SEND_MS + FILL_MS,
    );
    expect((serverSideClosedAt(client) as number) - client.sentAt).toBeGreaterThanOrEqual(SEND_MS);
    await until('the reply was generated to its end', () => fixture.sim.activeStreams() === 0, 10_000);
    expect(fixture.sim.aborts).toEqual([]);
    expect(fixture.sim.sent[0]?.toString('utf8')).toContain('"done":true');
    const text = await readAtLast(client);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*chatwire-generation-id: /i);
    expect(text).not.toContain('"done":true');
  }, 20_000);
});
