import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

function configFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'chatwire-upstreams-')), 'chatwire.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('upstream hosts', () => {
  it('is a pool of one, without a stream limit of its own, from OLLAMA_HOST alone', () => {
    const config = loadConfig({ OLLAMA_HOST: 'gpu1' });
    expect(config.pool.single).toBe(true);
    expect(config.pool.hosts).toEqual([
      {
        name: 'gpu1:11434',
        kind: 'ollama',
        url: 'http://gpu1:11434',
        weight: 1,
        maxStreams: Number.POSITIVE_INFINITY,
      },
    ]);
  });

  it('reads CHATWIRE_UPSTREAMS as OLLAMA_HOST spellings, named host:port, 4 streams each', () => {
    const config = loadConfig({ CHATWIRE_UPSTREAMS: 'gpu1, gpu2:11500 ,http://10.0.0.5:11434,' });
    expect(config.pool.single).toBe(false);
    expect(config.pool.hosts.map((host) => [host.name, host.url, host.maxStreams])).toEqual([
      ['gpu1:11434', 'http://gpu1:11434', 4],
      ['gpu2:11500', 'http://gpu2:11500', 4],
      ['10.0.0.5:11434', 'http://10.0.0.5:11434', 4],
    ]);
    expect(config.upstream).toEqual({ kind: 'ollama', baseUrl: 'http://gpu1:11434' });
    expect(config.pool).toMatchObject({
      catalogRefreshMs: 10_000,
      healthIntervalMs: 5_000,
      ejectAfter: 3,
      retries: 2,
      maxQueue: 64,
      queueTimeoutMs: 30_000,
    });
    expect(config.ejectMs).toBe(30_000);
  });

  it('takes OpenAI-compatible hosts as written, with the one key', () => {
    const config = loadConfig({
      CHATWIRE_UPSTREAM_KIND: 'openai',
      CHATWIRE_UPSTREAMS: 'http://a:8000/v1,http://b:8000/v1',
      CHATWIRE_UPSTREAM_API_KEY: 'k',
    });
    expect(config.pool.hosts.map((host) => [host.name, host.kind, host.url, host.apiKey])).toEqual([
      ['a:8000', 'openai', 'http://a:8000/v1', 'k'],
      ['b:8000', 'openai', 'http://b:8000/v1', 'k'],
    ]);
  });

  it('reads mixed kinds, keys, weights and limits from the config file', () => {
    const file = configFile({
      upstreams: [
        { name: 'big', url: 'http://gpu1:11434', maxStreams: 8, weight: 2 },
        { kind: 'openai', url: 'http://vllm:8000/v1', apiKey: 'secret' },
      ],
    });
    const config = loadConfig({ CHATWIRE_CONFIG_FILE: file });
    expect(config.pool.hosts).toEqual([
      { name: 'big', kind: 'ollama', url: 'http://gpu1:11434', weight: 2, maxStreams: 8 },
      {
        name: 'vllm:8000',
        kind: 'openai',
        url: 'http://vllm:8000/v1',
        apiKey: 'secret',
        weight: 1,
        maxStreams: 4,
      },
    ]);
  });

  it.each([
    [
      { CHATWIRE_UPSTREAMS: 'gpu1,ftp://gpu2' },
      /CHATWIRE_UPSTREAMS entry "ftp:\/\/gpu2": scheme must be http or https/,
    ],
    [
      { CHATWIRE_UPSTREAMS: 'gpu1,gpu1:11434' },
      /CHATWIRE_UPSTREAMS: the host name "gpu1:11434" appears twice/,
    ],
    [{ CHATWIRE_UPSTREAMS: ' , ' }, /CHATWIRE_UPSTREAMS lists no host/],
    [
      { CHATWIRE_UPSTREAMS: 'gpu1', CHATWIRE_UPSTREAM_URL: 'http://x:1' },
      /CHATWIRE_UPSTREAM_URL names one upstream/,
    ],
    [
      { CHATWIRE_UPSTREAMS: 'gpu1', CHATWIRE_ENGINE: 'embedded' },
      /embedded engine .* takes no upstream hosts/,
    ],
    [{ CHATWIRE_EJECT_AFTER: '0' }, /CHATWIRE_EJECT_AFTER="0"/],
  ])('stops the start on a bad entry, naming it: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names the bad entry of the config file', () => {
    const bad = configFile({
      upstreams: [{ url: 'http://gpu1:11434' }, { url: 'http://gpu2', maxStreams: 0 }],
    });
    expect(() => loadConfig({ CHATWIRE_CONFIG_FILE: bad })).toThrow(/upstreams\.1\.maxStreams/);
    const unknown = configFile({ upstreams: [{ url: 'http://gpu1', streams: 2 }] });
    expect(() => loadConfig({ CHATWIRE_CONFIG_FILE: unknown })).toThrow(/upstreams\.0: .*streams/);
    const both = configFile({ upstreams: [{ url: 'http://gpu1' }] });
    expect(() => loadConfig({ CHATWIRE_CONFIG_FILE: both, CHATWIRE_UPSTREAMS: 'gpu2' })).toThrow(/set one/);
    const badUrl = configFile({ upstreams: [{ url: 'gopher://x' }] });
    expect(() => loadConfig({ CHATWIRE_CONFIG_FILE: badUrl })).toThrow(/upstreams\[0\] url "gopher:\/\/x"/);
  });
});
