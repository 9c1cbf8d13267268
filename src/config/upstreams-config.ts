import { ConfigError } from './config-error.js';
import type { UpstreamFileEntry } from './config-file.js';
import { formatBaseUrl, parseOllamaHost } from './parse-ollama-host.js';

/** One model server behind chatwire. */
export interface HostConfig {
  /** `host:port` unless the config file names it. */
  name: string;
  kind: 'ollama' | 'openai';
  /** Ollama: the server root; OpenAI-compatible: the API base (usually ending in /v1). No trailing slash. */
  url: string;
  apiKey?: string;
  weight: number;
  /** Streams the host runs at once (its OLLAMA_NUM_PARALLEL or llama.cpp's --parallel); Infinity = no limit. */
  maxStreams: number;
}

export interface PoolConfig {
  hosts: HostConfig[];
  /** One host from OLLAMA_HOST / CHATWIRE_UPSTREAM_URL: chatwire relays to it exactly as without a pool. */
  single: boolean;
  catalogRefreshMs: number;
  healthIntervalMs: number;
  ejectAfter: number;
  retries: number;
  maxQueue: number;
  queueTimeoutMs: number;
}

export const DEFAULT_MAX_STREAMS = 4;

/** `CHATWIRE_UPSTREAMS`: a comma list, each entry as OLLAMA_HOST (Ollama) or a URL (OpenAI-compatible). */
export function hostsFromList(
  list: string,
  kind: 'ollama' | 'openai',
  apiKey: string | undefined,
): HostConfig[] {
  const entries = list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new ConfigError('invalid configuration: CHATWIRE_UPSTREAMS lists no host');
  return checkNames(
    entries.map((entry) => {
      const url = parseHostUrl(entry, kind, `CHATWIRE_UPSTREAMS entry ${JSON.stringify(entry)}`);
      return {
        name: url.host,
        kind,
        url: formatBaseUrl(url),
        ...(apiKey !== undefined && { apiKey }),
        weight: 1,
        maxStreams: DEFAULT_MAX_STREAMS,
      };
    }),
    'CHATWIRE_UPSTREAMS',
  );
}

/** `upstreams` in the config file: for mixed kinds, keys, weights and limits. */
export function hostsFromFile(entries: UpstreamFileEntry[], defaultKind: 'ollama' | 'openai'): HostConfig[] {
  return checkNames(
    entries.map((entry, index) => {
      const kind = entry.kind ?? defaultKind;
      const url = parseHostUrl(
        entry.url,
        kind,
        `CHATWIRE_CONFIG_FILE upstreams[${index}] url ${JSON.stringify(entry.url)}`,
      );
      return {
        name: entry.name ?? url.host,
        kind,
        url: formatBaseUrl(url),
        ...(entry.apiKey !== undefined && { apiKey: entry.apiKey }),
        weight: entry.weight ?? 1,
        maxStreams: entry.maxStreams ?? DEFAULT_MAX_STREAMS,
      };
    }),
    'CHATWIRE_CONFIG_FILE upstreams',
  );
}

function parseHostUrl(value: string, kind: 'ollama' | 'openai', where: string): URL {
  try {
    // An OpenAI-compatible base URL is taken as written; Ollama's host spellings apply to Ollama only.
    const url = kind === 'ollama' ? parseOllamaHost(value) : new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error('scheme must be http or https');
    return url;
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${where}: ${(error as Error).message}`);
  }
}

function checkNames(hosts: HostConfig[], where: string): HostConfig[] {
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host.name)) {
      throw new ConfigError(
        `invalid configuration: ${where}: the host name ${JSON.stringify(host.name)} appears twice`,
      );
    }
    seen.add(host.name);
  }
  return hosts;
}
