import { afterAll, beforeAll } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from './ollama-simulator.js';
import { type RunningGateway, startGateway } from './start-gateway.js';

export interface SimulatedGateway {
  readonly sim: OllamaSimulator;
  readonly chatwire: RunningGateway;
}

type GatewayOptions = NonNullable<Parameters<typeof startGateway>[2]>;
type SimulatorOptions = NonNullable<Parameters<typeof startOllamaSimulator>[0]>;

/**
 * One Ollama simulator and the real gateway in front of it for the whole file, registered as the file's
 * `beforeAll`/`afterAll`. The handle's fields exist only once `beforeAll` has run, so read them inside hooks
 * and tests, never at the top of the file.
 */
export function simulatedGateway(
  env: Record<string, string> = {},
  options: GatewayOptions & { simulator?: SimulatorOptions } = {},
): SimulatedGateway {
  let sim: OllamaSimulator | undefined;
  let chatwire: RunningGateway | undefined;
  const { simulator, ...gatewayOptions } = options;

  beforeAll(async () => {
    sim = await startOllamaSimulator(simulator);
    chatwire = await startGateway(sim.url, env, gatewayOptions);
  });
  afterAll(async () => {
    await chatwire?.close();
    await sim?.close();
  });

  return {
    get sim() {
      if (!sim) throw new Error('simulatedGateway: the simulator is read before beforeAll started it');
      return sim;
    },
    get chatwire() {
      if (!chatwire) throw new Error('simulatedGateway: the gateway is read before beforeAll started it');
      return chatwire;
    },
  };
}
