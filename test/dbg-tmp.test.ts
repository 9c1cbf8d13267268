import { request } from 'node:http';
import { it } from 'vitest';
import { startOllamaSimulator } from './support/ollama-simulator.js';
import { chatBody, startGateway } from './support/start-gateway.js';

it('dbg', async () => {
  const sim = await startOllamaSimulator();
  const cw = await startGateway(sim.url, { CHATWIRE_GENERATION_BYTES: String(32 * 1024 * 1024) });
  sim.behave({ tokens: Array.from({ length: 12000 }, (_, i) => `${i}`.padEnd(1000, '.')) });
  await new Promise<void>((resolve) => {
    const o = request(
      `${cw.url}/v1/chat`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'chatwire-on-disconnect': 'detach' } },
      (res) => {
        res.pause();
        resolve();
      },
    );
    o.end(chatBody());
  });
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 500));
    console.log(
      Math.round(performance.now() - t0),
      'sim sent',
      sim.sent[0]?.length,
      'active',
      sim.activeStreams(),
      'bytes',
      (cw.gateway.generations as any).bytes,
    );
  }
}, 60000);
