import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Dispatcher } from 'undici';
import type { Config } from '../config/config.js';
import { MemoryReplyLock } from '../conversations/reply-lock.js';
import type { GenerationStore } from '../generations/generation-types.js';
import { MemoryGenerationStore } from '../generations/memory-generation-store.js';
import { createLimiter } from '../limits/create-limiter.js';
import { installLimits } from '../limits/install-limits.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { registerMetricsRoute } from '../metrics/metrics-route.js';
import { PersonaDirectory } from '../persona/persona-directory.js';
import { ActiveCalls } from '../relay/active-calls.js';
import { PendingWork } from '../relay/pending-work.js';
import { relayErrors } from '../relay/relay-errors.js';
import { openStorage } from '../storage/open-conversation-store.js';
import { loadTracing } from '../tracing/load-tracing.js';
import type { ChatUpstream } from '../upstream/chat-upstream.js';
import { createUpstream } from '../upstream/create-upstream.js';
import { UpstreamPool } from '../upstream/pool/upstream-pool.js';
import { VERSION } from '../version.js';
import { installAuth } from './auth/install-auth.js';
import { KeyDirectory } from './auth/key-directory.js';
import { capConnections, connectionBounds } from './connections/connection-bounds.js';
import { clientErrorHandler, installErrorHandler } from './error-handler.js';
import { installRequestLog } from './request-log.js';
import { registerChatRoute } from './routes/chat-route.js';
import { registerConversationRoutes } from './routes/conversations/conversation-routes.js';
import { registerGenerationRoutes } from './routes/generations/generation-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerOllamaGenerationRoutes } from './routes/ollama-api/ollama-generation-routes.js';
import { registerOllamaMetaRoutes } from './routes/ollama-api/ollama-meta-routes.js';
import { registerOpenAiRoutes } from './routes/openai-api/openai-routes.js';
import { registerPageRoutes } from './routes/page/page-routes.js';
import { registerUpstreamsRoute } from './routes/upstreams-route.js';
import { validationMessage } from './validation-message.js';

export interface Gateway {
  app: FastifyInstance;
  config: Config;
  upstream: ChatUpstream;
  activeCalls: ActiveCalls;
  /** Whether browsers get the chat page at `/` (false when this install did not build it). */
  pageBuilt: boolean;
  /** The streamed replies kept for resumers. */
  generations: GenerationStore;
  /** Stops accepting, lets streams run for the grace period, ends the rest with an error line, then closes. */
  shutdown(graceMs?: number): Promise<void>;
}

/** After the streams are done, how long a plain request in flight may take before its connection is closed. */
const LINGER_MS = 250;

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

export async function buildGateway(
  config: Config,
  options: { logger: FastifyBaseLogger; dispatcher?: Dispatcher },
): Promise<Gateway> {
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger,
    // The request log writes one line per request itself, streams included.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.bodyBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Types are part of the contract: "1" is not a number and 7 is not a string.
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true },
    },
    schemaErrorFormatter: validationMessage,
    return503OnClosing: true,
    ...connectionBounds(config.connections),
    clientErrorHandler: clientErrorHandler(config.connections),
  });
  capConnections(app.server, config.connections.max);
  const upstream = createUpstream(config, { dispatcher: options.dispatcher, logger: options.logger });
  const activeCalls = new ActiveCalls();
  const metrics = new GatewayMetrics({ config, upstream, activeCalls });

  // Only JSON bodies: without this, Fastify would parse text/plain and answer 400 where 415 is true.
  app.removeContentTypeParser('text/plain');
  installRequestLog(app, metrics);
  installErrorHandler(app, config.limits.bodyBytes);
  // Before auth and limits: a preflight carries no key and must be answered, and a browser can read a 401
  // or 429 only when it carries the CORS headers too.
  await app.register(cors, corsOptions(config.corsOrigins));
  const tracing = await loadTracing();
  // The SDK's API module too is loaded only when tracing is configured.
  if (tracing !== undefined) (await import('../tracing/install-tracing.js')).installTracing(app, tracing);
  const storage = await openStorage({ ...config.storage, logger: options.logger });
  const store = storage.conversations;
  const keys = new KeyDirectory(storage.keys, { ...config.auth, logger: options.logger });
  await keys.start();
  installAuth(app, keys, config.auth);
  const limiter = await createLimiter(config, options.logger, metrics);
  installLimits(app, limiter, metrics);
  const { redisUrl } = config.rateLimits;
  // ioredis is loaded only when Redis is configured: it alone adds some 27 MiB to a process.
  const lock =
    redisUrl === undefined
      ? new MemoryReplyLock()
      : new (await import('../conversations/redis-reply-lock.js')).RedisReplyLock(redisUrl);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'chatwire',
        version: VERSION,
        description: 'Streaming chat gateway for local LLMs. Errors are `{"error":"…"}` with a true status.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const pool = upstream instanceof UpstreamPool ? upstream : undefined;
  registerHealthRoutes(app, { config, upstream, pool });
  registerUpstreamsRoute(app, pool);
  registerMetricsRoute(app, metrics);
  // With Redis, a reply can be resumed on any instance; its frames are still kept here for local readers.
  const generations: GenerationStore =
    redisUrl === undefined
      ? new MemoryGenerationStore(config.generations)
      : new (await import('../generations/redis-generation-store.js')).RedisGenerationStore(
          redisUrl,
          config.generations,
        );
  const relay = {
    upstream,
    timeouts: config.timeouts,
    activeCalls,
    generations,
    detachMs: config.generations.detachMs,
  };
  const personas = new PersonaDirectory([{ name: 'default', ...config.persona }, ...config.personas]);
  const pending = new PendingWork();
  const recovered = await store.recoverInterruptedReplies();
  if (recovered > 0)
    options.logger.warn({ recovered }, `marked ${recovered} unfinished replies as interrupted`);
  registerChatRoute(app, { ...relay, config, personas });
  registerConversationRoutes(app, {
    relay,
    store,
    personas,
    contextTokens: config.contextTokens,
    maxMessages: config.maxMessages,
    recorder: { intervalMs: 500, everyChunks: 50 },
    pending,
    keys,
    lock,
    allowedModels: config.allowedModels,
  });
  registerOllamaGenerationRoutes(app, { ...relay, config });
  registerGenerationRoutes(app, { generations, conversations: store, keys, sendMs: config.timeouts.sendMs });
  const page = registerPageRoutes(app);
  registerOllamaMetaRoutes(app, { config, upstream, page });
  registerOpenAiRoutes(app, { ...relay, config });

  app.addHook('preClose', (done) => {
    done();
    // Fastify closes the listening socket as soon as the last preClose hook is done, so this runs after it.
    app.log.info({ streams: activeCalls.size }, 'no longer accepting connections');
  });

  let closing: Promise<void> | undefined;
  const shutdown = (graceMs = config.timeouts.shutdownGraceMs) => {
    closing ??= (async () => {
      const closed = app.close();
      if (activeCalls.size > 0) {
        const grace = setTimeout(() => activeCalls.abortAll(relayErrors.shuttingDown), graceMs);
        await activeCalls.idle();
        clearTimeout(grace);
      }
      // Keep-alive connections that finished their last stream, and connections a client opened without
      // sending a request yet, would otherwise hold close() open; anything still busy gets a moment first.
      app.server.closeIdleConnections();
      const lingering = setTimeout(() => app.server.closeAllConnections(), LINGER_MS);
      await closed;
      clearTimeout(lingering);
      await upstream.close();
      await pending.settled();
      await keys.stop();
      await limiter.close();
      await lock.close();
      await generations.close();
      await tracing?.shutdown();
      await store.close();
    })();
    return closing;
  };

  return { app, config, upstream, activeCalls, pageBuilt: page.built, generations, shutdown };
}

/**
 * A page on another origin must be able to read a stream's generation id, to resume it; when to try again
 * after a 429 or 503; and the request id to report a failure with.
 */
const EXPOSED_HEADERS = ['chatwire-generation-id', 'retry-after', 'x-request-id'];
/** The plugin's default is GET, HEAD and POST only: a page could not rename or delete a conversation. */
const METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'];

function corsOptions(origins: Config['corsOrigins']) {
  const common = { exposedHeaders: EXPOSED_HEADERS, methods: METHODS };
  if (origins === '*') return { origin: '*', credentials: false, ...common };
  return { origin: origins ?? [LOCAL_ORIGIN], credentials: true, ...common };
}
