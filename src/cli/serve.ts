import { pino } from 'pino';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { isGatewayError } from '../contracts/gateway-error.js';
import { buildGateway } from '../server/build-gateway.js';
import type { ChatUpstream } from '../upstream/chat-upstream.js';
import { EmbeddedUpstream } from '../upstream/embedded/embedded-upstream.js';
import { CliExit } from './cli-support.js';
import { letYoungGenerationGrow } from './heap-tuning.js';
import { pullWithProgress } from './pull-command.js';

/**
 * Connections the kernel may hold before chatwire accepts them (the kernel caps it at net.core.somaxconn).
 * With Node's default, 511, a burst of 1,000 new clients overflowed the queue 750–930 times (each a SYN the
 * client retransmits a second later) and their first tokens came 0.3–0.6 s later at p50 than with 4096,
 * which overflowed none.
 */
const LISTEN_BACKLOG = 4096;

/**
 * `chatwire serve`: listen, say where and what upstream answers, and shut down gracefully on SIGTERM/SIGINT.
 * `flags` are configuration variables given on the command line; they win over the environment.
 */
export async function serve(flags: Record<string, string> = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({ ...process.env, ...flags });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`chatwire: ${error.message}\n`);
    process.exit(2);
  }
  if (config.upstream.kind === 'embedded' && config.embedded.pull) {
    try {
      await pullWithProgress(config, config.embedded.modelReference);
    } catch (error) {
      if (!(error instanceof CliExit)) throw error;
      process.stderr.write(`chatwire: ${error.message}\n`);
      process.exit(error.code);
    }
  }
  const logger = pino({ level: config.log.level, base: { name: 'chatwire' } });
  const gateway = await buildGateway(config, { logger });
  // Before listening: a signal that arrives while chatwire starts still shuts it down gracefully.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, streams: gateway.activeCalls.size }, `${signal}: shutting down`);
    gateway.shutdown().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const address = await gateway.app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
  letYoungGenerationGrow();
  logger.info(
    { address, upstream: config.upstream.baseUrl, model: config.persona.model },
    `listening on ${address}`,
  );
  logger.info(
    gateway.pageBuilt
      ? `chat page: open ${address}/ in a browser`
      : 'chat page not built in this install (npm run build builds it); the API is unaffected',
  );
  // Said when known, without holding anything up: a slow upstream (or a large model loading) answers later.
  const described =
    gateway.upstream instanceof EmbeddedUpstream
      ? describeEmbedded(gateway.upstream, config)
      : describeUpstream(gateway.upstream, config.upstream.kind, config.timeouts.connectMs);
  void described.then((line) => {
    // Cut short by a shutdown, the probe's failure says nothing about the upstream.
    if (!stopping) logger.info(line);
  });
}

async function describeUpstream(upstream: ChatUpstream, kind: Config['upstream']['kind'], timeoutMs: number) {
  try {
    const version = await upstream.version(AbortSignal.timeout(timeoutMs));
    const models = (await upstream.models(AbortSignal.timeout(timeoutMs))).map((model) => model.id);
    const shown = models.length > 10 ? `${models.slice(0, 10).join(', ')}, …` : models.join(', ') || 'none';
    return `upstream ${upstream.label} ${version} at ${upstream.baseUrl} is reachable; models: ${shown}`;
  } catch (error) {
    const reason = isGatewayError(error) ? error.message : `no answer within ${timeoutMs} ms`;
    const hint =
      kind === 'ollama'
        ? ' Is "ollama serve" running? Set OLLAMA_HOST if it is elsewhere.' +
          ' Or run without Ollama, on the embedded engine: chatwire serve --engine embedded --pull'
        : '';
    return `upstream unreachable: ${reason} (chat requests get 503 until it is up).${hint}`;
  }
}

/** The model loads in this process: wait for it, however long, and say how it went. */
async function describeEmbedded(upstream: EmbeddedUpstream, config: Config): Promise<string> {
  const { modelName, threads, parallel } = config.embedded;
  try {
    const version = await upstream.version(new AbortController().signal);
    const { modelPath } = upstream.status();
    return (
      `embedded engine ready (${version}): model ${modelName} from ${modelPath}; ` +
      `${threads} ${threads === 1 ? 'thread' : 'threads'}, ${parallel} parallel ${parallel === 1 ? 'stream' : 'streams'}`
    );
  } catch (error) {
    const reason = isGatewayError(error) ? error.message : String(error);
    return `embedded engine unavailable: ${reason} (chat requests get 503 until it loads)`;
  }
}
