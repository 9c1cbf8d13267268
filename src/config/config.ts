import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import {
  defaultModelsDir,
  parseModelReference,
  servedModelName,
} from '../upstream/embedded/model-reference.js';
import { ConfigError } from './config-error.js';
import { readConfigFile } from './config-file.js';
import { formatBaseUrl, parseOllamaHost } from './parse-ollama-host.js';
import { hostsFromFile, hostsFromList, type PoolConfig } from './upstreams-config.js';

/** The embedded engine's model unless CHATWIRE_MODEL_FILE names another: small, instruct-tuned, ChatML. */
export const DEFAULT_EMBEDDED_MODEL = 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M';

/** Each variable with its default and its meaning; the README's configuration table mirrors this list. */
const envSchema = z.object({
  OLLAMA_HOST: z.string().default('http://127.0.0.1:11434'),
  CHATWIRE_ENGINE: z.enum(['ollama', 'openai', 'embedded']).optional(),
  CHATWIRE_UPSTREAM_KIND: z.enum(['ollama', 'openai', 'embedded']).optional(),
  CHATWIRE_UPSTREAM_URL: z.string().optional(),
  CHATWIRE_UPSTREAM_API_KEY: z.string().optional(),
  CHATWIRE_UPSTREAMS: z.string().optional(),
  CHATWIRE_CATALOG_REFRESH_MS: z.coerce.number().int().min(100).default(10_000),
  CHATWIRE_HEALTH_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  CHATWIRE_EJECT_AFTER: z.coerce.number().int().min(1).default(3),
  CHATWIRE_EJECT_MS: z.coerce.number().int().min(1).default(30_000),
  CHATWIRE_RETRIES: z.coerce.number().int().min(0).default(2),
  CHATWIRE_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
  CHATWIRE_SSE_KEEPALIVE_MS: z.coerce.number().int().min(0).default(15_000),
  CHATWIRE_HOST: z.string().min(1).default('127.0.0.1'),
  CHATWIRE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  CHATWIRE_MODEL: z.string().min(1).default('qwen2.5:7b'),
  CHATWIRE_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
  CHATWIRE_MAX_TOKENS: z.coerce.number().int().min(-2).default(2048),
  CHATWIRE_SYSTEM_PROMPT: z.string().optional(),
  CHATWIRE_SYSTEM_PROMPT_FILE: z.string().optional(),
  CHATWIRE_ALLOWED_MODELS: z.string().optional(),
  CHATWIRE_ALLOWED_OPTIONS: z.string().default(''),
  CHATWIRE_ACCEPT_SYSTEM_MESSAGES: z.stringbool().default(true),
  CHATWIRE_MAX_MESSAGES: z.coerce.number().int().min(1).default(1000),
  CHATWIRE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  CHATWIRE_FIRST_TOKEN_TIMEOUT_MS: z.coerce.number().int().min(1).default(300_000),
  CHATWIRE_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1).default(60_000),
  CHATWIRE_TOTAL_TIMEOUT_MS: z.coerce.number().int().min(0).default(0),
  CHATWIRE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  CHATWIRE_SEND_TIMEOUT_MS: z.coerce.number().int().min(1).default(60_000),
  CHATWIRE_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  CHATWIRE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
  CHATWIRE_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(1).default(72_000),
  CHATWIRE_MAX_CONNECTIONS: z.coerce.number().int().min(0).default(10_000),
  CHATWIRE_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  CHATWIRE_LINE_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  CHATWIRE_UPSTREAM_CONNECTIONS: z.coerce.number().int().min(1).default(1024),
  CHATWIRE_CORS_ORIGINS: z.string().optional(),
  CHATWIRE_REQUIRE_AUTH: z.stringbool().default(false),
  CHATWIRE_METRICS_REQUIRE_KEY: z.stringbool().default(false),
  CHATWIRE_KEYS_REFRESH_MS: z.coerce.number().int().min(100).default(2_000),
  CHATWIRE_MAX_STREAMS: z.coerce.number().int().min(0).default(0),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  CHATWIRE_DETACH_MS: z.coerce.number().int().min(1).default(600_000),
  CHATWIRE_GENERATION_TTL_MS: z.coerce.number().int().min(1).default(300_000),
  CHATWIRE_GENERATION_BYTES: z.coerce.number().int().min(1024).default(2_097_152),
  CHATWIRE_GENERATION_MAX_BYTES: z.coerce.number().int().min(1024).default(67_108_864),
  CHATWIRE_REDIS_FAILURE: z.enum(['open', 'closed']).default('open'),
  CHATWIRE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CHATWIRE_LOG_CONTENT: z.stringbool().default(false),
  DATABASE_URL: z.string().optional(),
  CHATWIRE_DATA_DIR: z.string().min(1).default('./data'),
  CHATWIRE_CONTEXT_TOKENS: z.coerce.number().int().min(256).default(8192),
  CHATWIRE_CONFIG_FILE: z.string().optional(),
  CHATWIRE_MODEL_FILE: z.string().min(1).default(DEFAULT_EMBEDDED_MODEL),
  CHATWIRE_MODELS_DIR: z.string().min(1).optional(),
  CHATWIRE_PULL: z.stringbool().default(false),
  CHATWIRE_HF_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  CHATWIRE_THREADS: z.coerce.number().int().min(1).optional(),
  CHATWIRE_PARALLEL: z.coerce.number().int().min(1).max(64).default(2),
  CHATWIRE_MAX_QUEUE: z.coerce.number().int().min(0).default(64),
  CHATWIRE_CONTEXT_LENGTH: z.coerce.number().int().min(256).default(4096),
  CHATWIRE_GPU: z.enum(['auto', 'false', 'cuda', 'vulkan', 'metal']).default('auto'),
});

/** Every variable the configuration reads, for `chatwire serve`'s flags and the README's table. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as Array<keyof typeof envSchema.shape>;

export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful assistant.';

export interface Persona {
  model: string;
  systemPrompt: string;
  temperature: number;
  maxTokens: number;
}

export interface UpstreamConfig {
  kind: 'ollama' | 'openai' | 'embedded';
  /**
   * Ollama: the server root. OpenAI-compatible: the API base, usually ending in /v1. No trailing slash.
   * Embedded: the model reference (CHATWIRE_MODEL_FILE).
   */
  baseUrl: string;
  apiKey?: string;
}

export interface Config {
  host: string;
  port: number;
  /** The first (or only) upstream; with several hosts, `pool` has them all. */
  upstream: UpstreamConfig;
  /** The model servers chat requests are routed over (not used by the embedded engine). */
  pool: PoolConfig;
  /** How long a host's first ejection lasts; each later one lasts that many times longer. */
  ejectMs: number;
  /** How often an SSE client waiting for a slow first token gets a `: ping` comment; 0 = never. */
  sseKeepAliveMs: number;
  persona: Persona;
  /** Models a request may name; `'*'` allows any. Always includes the persona's model. */
  allowedModels: string[] | '*';
  /** Option keys a request may set; `'*'` allows any. Empty by default: the persona owns sampling. */
  allowedOptions: string[] | '*';
  acceptSystemMessages: boolean;
  maxMessages: number;
  timeouts: {
    connectMs: number;
    firstTokenMs: number;
    idleMs: number;
    totalMs: number;
    shutdownGraceMs: number;
    /** How long a stream's client may leave its socket's buffer full before it is taken as gone. */
    sendMs: number;
  };
  /** What a client connection may hold: the server's own protections against slow and idle clients. */
  connections: {
    /** From a request's first byte (or the connection's opening) to the end of its headers. */
    headersMs: number;
    /** From a request's first byte to the end of its body; never bounds the response. */
    requestMs: number;
    /** How long a keep-alive connection may sit idle between requests. */
    keepAliveMs: number;
    /** Open client connections at most; beyond it a new one is closed at once. 0 = no limit. */
    max: number;
  };
  limits: { bodyBytes: number; lineBytes: number };
  upstreamConnections: number;
  /** Auth is on when any API key exists, or always with `requireAuth`; keys are re-read every `refreshMs`. */
  auth: { requireAuth: boolean; refreshMs: number; metricsRequireKey: boolean };
  /** Streams at once over all keys (0 = no limit); where limits live (no `redisUrl`: in this process). */
  rateLimits: { maxStreams: number; redisUrl?: string; redisFailure: 'open' | 'closed' };
  /** Resumable replies: how long a detached one runs without its client, and the frames kept for resumers. */
  generations: { detachMs: number; ttlMs: number; perGenerationBytes: number; totalBytes: number };
  /** Explicit origins, `'*'`, or undefined for the default: localhost and 127.0.0.1 on any port. */
  corsOrigins: string[] | '*' | undefined;
  log: { level: string; content: boolean };
  /** No `databaseUrl`: SQLite in `dataDir`. Checked when the store opens (see openConversationStore). */
  storage: { databaseUrl?: string; dataDir: string };
  /** Token budget for a stored conversation's history sent upstream (estimated; see trim-history). */
  contextTokens: number;
  /** Named personas from the config file, besides `default` (the persona above). */
  personas: NamedPersonaConfig[];
  /** The in-process llama.cpp engine; read whatever the kind, since `chatwire pull` uses it too. */
  embedded: EmbeddedConfig;
}

export interface EmbeddedConfig {
  /** A .gguf path, `hf:owner/repo:QUANT`, `hf:owner/repo/file.gguf` or an http(s) URL. */
  modelReference: string;
  /** The name clients see: CHATWIRE_MODEL when set, else derived from the reference. */
  modelName: string;
  modelsDir: string;
  /** `serve` downloads a missing model before it starts. */
  pull: boolean;
  hfEndpoint: string;
  threads: number;
  /** Streams generated at once, each in its own context sequence. */
  parallel: number;
  /** Requests that may wait for a free sequence before the engine answers 503. */
  maxQueue: number;
  /** Tokens per sequence. */
  contextLength: number;
  gpu: 'auto' | false | 'cuda' | 'vulkan' | 'metal';
}

export interface NamedPersonaConfig extends Persona {
  name: string;
  description?: string;
  options?: Record<string, unknown>;
}

export { ConfigError };

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const relevant = Object.fromEntries(
    Object.entries(env).filter(
      ([key, value]) =>
        (key.startsWith('CHATWIRE_') || ['OLLAMA_HOST', 'DATABASE_URL', 'REDIS_URL'].includes(key)) &&
        value !== '',
    ),
  );
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(relevant[name])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const values = parsed.data;
  const kind = readUpstreamKind(values);
  const embedded = readEmbeddedConfig(values, env, relevant.CHATWIRE_MODEL !== undefined);
  // The embedded engine serves one model under one name; CHATWIRE_MODEL's Ollama default would not exist.
  const model = kind === 'embedded' ? embedded.modelName : values.CHATWIRE_MODEL;
  const file =
    values.CHATWIRE_CONFIG_FILE === undefined
      ? undefined
      : readConfigFile(values.CHATWIRE_CONFIG_FILE, model);
  const pool = readPoolConfig(values, kind, file?.upstreams);
  const first = pool.hosts[0];
  const upstream: UpstreamConfig =
    kind === 'embedded' || first === undefined
      ? readUpstreamConfig(values, kind)
      : { kind: first.kind, baseUrl: first.url, ...(first.apiKey !== undefined && { apiKey: first.apiKey }) };
  return {
    host: values.CHATWIRE_HOST,
    port: values.CHATWIRE_PORT,
    upstream,
    pool,
    ejectMs: values.CHATWIRE_EJECT_MS,
    sseKeepAliveMs: values.CHATWIRE_SSE_KEEPALIVE_MS,
    persona: {
      model,
      systemPrompt: readSystemPrompt(values.CHATWIRE_SYSTEM_PROMPT, values.CHATWIRE_SYSTEM_PROMPT_FILE),
      temperature: values.CHATWIRE_TEMPERATURE,
      maxTokens: values.CHATWIRE_MAX_TOKENS,
    },
    allowedModels: withModel(readList(values.CHATWIRE_ALLOWED_MODELS) ?? [model], model),
    allowedOptions: readList(values.CHATWIRE_ALLOWED_OPTIONS) ?? [],
    acceptSystemMessages: values.CHATWIRE_ACCEPT_SYSTEM_MESSAGES,
    maxMessages: values.CHATWIRE_MAX_MESSAGES,
    timeouts: {
      connectMs: values.CHATWIRE_CONNECT_TIMEOUT_MS,
      firstTokenMs: values.CHATWIRE_FIRST_TOKEN_TIMEOUT_MS,
      idleMs: values.CHATWIRE_IDLE_TIMEOUT_MS,
      totalMs: values.CHATWIRE_TOTAL_TIMEOUT_MS,
      shutdownGraceMs: values.CHATWIRE_SHUTDOWN_GRACE_MS,
      sendMs: values.CHATWIRE_SEND_TIMEOUT_MS,
    },
    connections: readConnectionsConfig(values),
    limits: { bodyBytes: values.CHATWIRE_BODY_LIMIT_BYTES, lineBytes: values.CHATWIRE_LINE_LIMIT_BYTES },
    upstreamConnections: values.CHATWIRE_UPSTREAM_CONNECTIONS,
    corsOrigins: readList(values.CHATWIRE_CORS_ORIGINS),
    auth: {
      requireAuth: values.CHATWIRE_REQUIRE_AUTH,
      refreshMs: values.CHATWIRE_KEYS_REFRESH_MS,
      metricsRequireKey: values.CHATWIRE_METRICS_REQUIRE_KEY,
    },
    rateLimits: {
      maxStreams: values.CHATWIRE_MAX_STREAMS,
      ...(values.REDIS_URL !== undefined && { redisUrl: values.REDIS_URL }),
      redisFailure: values.CHATWIRE_REDIS_FAILURE,
    },
    generations: {
      detachMs: values.CHATWIRE_DETACH_MS,
      ttlMs: values.CHATWIRE_GENERATION_TTL_MS,
      perGenerationBytes: values.CHATWIRE_GENERATION_BYTES,
      totalBytes: values.CHATWIRE_GENERATION_MAX_BYTES,
    },
    log: { level: values.CHATWIRE_LOG_LEVEL, content: values.CHATWIRE_LOG_CONTENT },
    storage: {
      ...(values.DATABASE_URL !== undefined && { databaseUrl: values.DATABASE_URL }),
      dataDir: values.CHATWIRE_DATA_DIR,
    },
    contextTokens: values.CHATWIRE_CONTEXT_TOKENS,
    personas: file?.personas ?? [],
    embedded,
  };
}

function readConnectionsConfig(values: z.infer<typeof envSchema>): Config['connections'] {
  const headersMs = values.CHATWIRE_HEADERS_TIMEOUT_MS;
  const requestMs = values.CHATWIRE_REQUEST_TIMEOUT_MS;
  // The headers are part of the request: Node refuses a headers bound longer than the whole request's.
  if (headersMs > requestMs) {
    throw new ConfigError(
      `invalid configuration: CHATWIRE_HEADERS_TIMEOUT_MS=${headersMs} is longer than CHATWIRE_REQUEST_TIMEOUT_MS=${requestMs}`,
    );
  }
  return {
    headersMs,
    requestMs,
    keepAliveMs: values.CHATWIRE_KEEPALIVE_TIMEOUT_MS,
    max: values.CHATWIRE_MAX_CONNECTIONS,
  };
}

function readEmbeddedConfig(
  values: z.infer<typeof envSchema>,
  env: Env,
  modelNamed: boolean,
): EmbeddedConfig {
  const reference = values.CHATWIRE_MODEL_FILE;
  let derivedName: string;
  try {
    derivedName = servedModelName(parseModelReference(reference));
  } catch (error) {
    throw new ConfigError(
      `invalid configuration: CHATWIRE_MODEL_FILE=${JSON.stringify(reference)}: ${(error as Error).message}`,
    );
  }
  return {
    modelReference: reference,
    modelName: modelNamed ? values.CHATWIRE_MODEL : derivedName,
    modelsDir: values.CHATWIRE_MODELS_DIR ?? defaultModelsDir(env),
    pull: values.CHATWIRE_PULL,
    hfEndpoint: (values.CHATWIRE_HF_ENDPOINT ?? (env.HF_ENDPOINT || 'https://huggingface.co')).replace(
      /\/+$/,
      '',
    ),
    threads: values.CHATWIRE_THREADS ?? availableParallelism(),
    parallel: values.CHATWIRE_PARALLEL,
    maxQueue: values.CHATWIRE_MAX_QUEUE,
    contextLength: values.CHATWIRE_CONTEXT_LENGTH,
    gpu: values.CHATWIRE_GPU === 'false' ? false : values.CHATWIRE_GPU,
  };
}

function readUpstreamKind(values: z.infer<typeof envSchema>): UpstreamConfig['kind'] {
  const { CHATWIRE_ENGINE: engine, CHATWIRE_UPSTREAM_KIND: upstreamKind } = values;
  if (engine !== undefined && upstreamKind !== undefined && engine !== upstreamKind) {
    throw new ConfigError(
      `invalid configuration: CHATWIRE_ENGINE=${engine} and CHATWIRE_UPSTREAM_KIND=${upstreamKind} disagree; set one`,
    );
  }
  return engine ?? upstreamKind ?? 'ollama';
}

/**
 * The hosts to route over: CHATWIRE_UPSTREAMS, or the config file's `upstreams`, or else the one host
 * OLLAMA_HOST / CHATWIRE_UPSTREAM_URL names, with no stream limit of chatwire's own, as before pools.
 */
function readPoolConfig(
  values: z.infer<typeof envSchema>,
  kind: UpstreamConfig['kind'],
  fileHosts: Parameters<typeof hostsFromFile>[0] | undefined,
): PoolConfig {
  const settings = {
    catalogRefreshMs: values.CHATWIRE_CATALOG_REFRESH_MS,
    healthIntervalMs: values.CHATWIRE_HEALTH_INTERVAL_MS,
    ejectAfter: values.CHATWIRE_EJECT_AFTER,
    retries: values.CHATWIRE_RETRIES,
    maxQueue: values.CHATWIRE_MAX_QUEUE,
    queueTimeoutMs: values.CHATWIRE_QUEUE_TIMEOUT_MS,
  };
  const list = values.CHATWIRE_UPSTREAMS;
  if (list !== undefined && fileHosts !== undefined) {
    throw new ConfigError(
      'invalid configuration: CHATWIRE_UPSTREAMS and the upstreams of CHATWIRE_CONFIG_FILE both list hosts; set one',
    );
  }
  if ((list !== undefined || fileHosts !== undefined) && values.CHATWIRE_UPSTREAM_URL !== undefined) {
    throw new ConfigError(
      `invalid configuration: CHATWIRE_UPSTREAM_URL names one upstream and ${list !== undefined ? 'CHATWIRE_UPSTREAMS' : 'CHATWIRE_CONFIG_FILE'} lists several; set one`,
    );
  }
  if (kind === 'embedded') {
    if (list !== undefined || fileHosts !== undefined) {
      throw new ConfigError(
        'invalid configuration: the embedded engine runs in this process; it takes no upstream hosts',
      );
    }
    return { hosts: [], single: true, ...settings };
  }
  if (list !== undefined) {
    return { hosts: hostsFromList(list, kind, values.CHATWIRE_UPSTREAM_API_KEY), single: false, ...settings };
  }
  if (fileHosts !== undefined) return { hosts: hostsFromFile(fileHosts, kind), single: false, ...settings };
  const only = readUpstreamConfig(values, kind);
  const host = {
    name: new URL(only.baseUrl).host,
    kind: only.kind as 'ollama' | 'openai',
    url: only.baseUrl,
    ...(only.apiKey !== undefined && { apiKey: only.apiKey }),
    weight: 1,
    maxStreams: Number.POSITIVE_INFINITY,
  };
  return { hosts: [host], single: true, ...settings };
}

function readUpstreamConfig(values: z.infer<typeof envSchema>, kind: UpstreamConfig['kind']): UpstreamConfig {
  if (kind === 'embedded') return { kind, baseUrl: values.CHATWIRE_MODEL_FILE };
  const apiKey = values.CHATWIRE_UPSTREAM_API_KEY;
  if (kind === 'openai' && values.CHATWIRE_UPSTREAM_URL === undefined) {
    throw new ConfigError(
      'invalid configuration: CHATWIRE_UPSTREAM_KIND=openai needs CHATWIRE_UPSTREAM_URL (e.g. http://127.0.0.1:8000/v1)',
    );
  }
  const [name, value] =
    values.CHATWIRE_UPSTREAM_URL !== undefined
      ? ['CHATWIRE_UPSTREAM_URL', values.CHATWIRE_UPSTREAM_URL]
      : ['OLLAMA_HOST', values.OLLAMA_HOST];
  try {
    // An OpenAI-compatible base URL is taken as written; Ollama's host spellings apply to Ollama only.
    const url = kind === 'ollama' ? parseOllamaHost(value) : new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error('scheme must be http or https');
    return { kind, baseUrl: formatBaseUrl(url), ...(apiKey !== undefined && { apiKey }) };
  } catch (error) {
    throw new ConfigError(
      `invalid configuration: ${name}=${JSON.stringify(value)}: ${(error as Error).message}`,
    );
  }
}

function readSystemPrompt(inline: string | undefined, file: string | undefined): string {
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(
      'invalid configuration: set CHATWIRE_SYSTEM_PROMPT or CHATWIRE_SYSTEM_PROMPT_FILE, not both',
    );
  }
  if (file === undefined) return inline ?? DEFAULT_SYSTEM_PROMPT;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(
      `invalid configuration: CHATWIRE_SYSTEM_PROMPT_FILE=${JSON.stringify(file)}: ${(error as Error).message}`,
    );
  }
}

function readList(value: string | undefined): string[] | '*' | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.includes('*')) return '*';
  return items;
}

function withModel(list: string[] | '*', model: string): string[] | '*' {
  if (list === '*' || list.includes(model)) return list;
  return [model, ...list];
}
