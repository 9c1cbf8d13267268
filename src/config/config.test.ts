import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_SYSTEM_PROMPT, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has the documented defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.upstream.baseUrl).toBe('http://127.0.0.1:11434');
    expect(config.persona).toEqual({
      model: 'qwen2.5:7b',
      systemPrompt: DEFAULT_SYSTEM_PROMPT,
      temperature: 0.7,
      maxTokens: 2048,
    });
    expect(config.allowedModels).toEqual(['qwen2.5:7b']);
    expect(config.allowedOptions).toEqual([]);
    expect(config.acceptSystemMessages).toBe(true);
    expect(config.timeouts).toEqual({
      connectMs: 5000,
      firstTokenMs: 300000,
      idleMs: 60000,
      totalMs: 0,
      shutdownGraceMs: 10000,
      sendMs: 60000,
    });
    expect(config.connections).toEqual({
      headersMs: 10000,
      requestMs: 30000,
      keepAliveMs: 72000,
      max: 10000,
    });
    expect(config.limits).toEqual({ bodyBytes: 1048576, lineBytes: 1048576 });
    expect(config.corsOrigins).toBeUndefined();
  });

  it('reads lists, switches and OLLAMA_HOST without a scheme', () => {
    const config = loadConfig({
      OLLAMA_HOST: 'gpu-box:11500',
      CHATWIRE_MODEL: 'llama3.2',
      CHATWIRE_ALLOWED_MODELS: 'qwen2.5:7b, mistral',
      CHATWIRE_ALLOWED_OPTIONS: '*',
      CHATWIRE_ACCEPT_SYSTEM_MESSAGES: 'false',
      CHATWIRE_CORS_ORIGINS: 'https://app.example.com,https://admin.example.com',
    });
    expect(config.upstream.baseUrl).toBe('http://gpu-box:11500');
    expect(config.allowedModels).toEqual(['llama3.2', 'qwen2.5:7b', 'mistral']);
    expect(config.allowedOptions).toBe('*');
    expect(config.acceptSystemMessages).toBe(false);
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'https://admin.example.com']);
  });

  it('reads an OpenAI-compatible upstream', () => {
    const config = loadConfig({
      CHATWIRE_UPSTREAM_KIND: 'openai',
      CHATWIRE_UPSTREAM_URL: 'http://127.0.0.1:8000/v1/',
      CHATWIRE_UPSTREAM_API_KEY: 'sk-test',
    });
    expect(config.upstream).toEqual({
      kind: 'openai',
      baseUrl: 'http://127.0.0.1:8000/v1',
      apiKey: 'sk-test',
    });
    expect(() => loadConfig({ CHATWIRE_UPSTREAM_KIND: 'openai' })).toThrow(/CHATWIRE_UPSTREAM_URL/);
    expect(() => loadConfig({ CHATWIRE_UPSTREAM_KIND: 'vllm' })).toThrow(/CHATWIRE_UPSTREAM_KIND/);
    expect(loadConfig({ CHATWIRE_UPSTREAM_URL: 'gpu:11500' }).upstream.baseUrl).toBe('http://gpu:11500');
  });

  it('refuses a headers bound longer than the whole request bound', () => {
    expect(() =>
      loadConfig({ CHATWIRE_HEADERS_TIMEOUT_MS: '5000', CHATWIRE_REQUEST_TIMEOUT_MS: '4000' }),
    ).toThrow(/CHATWIRE_HEADERS_TIMEOUT_MS=5000 is longer than CHATWIRE_REQUEST_TIMEOUT_MS=4000/);
  });

  it('reads where conversations are stored: SQLite in ./data unless DATABASE_URL is set', () => {
    expect(loadConfig({}).storage).toEqual({ dataDir: './data' });
    expect(
      loadConfig({ DATABASE_URL: 'postgres://chatwire@db/chatwire', CHATWIRE_DATA_DIR: '/var/lib/chatwire' })
        .storage,
    ).toEqual({ databaseUrl: 'postgres://chatwire@db/chatwire', dataDir: '/var/lib/chatwire' });
    expect(loadConfig({ DATABASE_URL: '' }).storage).toEqual({ dataDir: './data' });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ CHATWIRE_PORT: '' }).port).toBe(8080);
  });

  it.each([
    ['CHATWIRE_PORT', 'eighty'],
    ['CHATWIRE_PORT', '70000'],
    ['CHATWIRE_IDLE_TIMEOUT_MS', '-1'],
    ['CHATWIRE_TEMPERATURE', 'hot'],
    ['CHATWIRE_ACCEPT_SYSTEM_MESSAGES', 'maybe'],
    ['CHATWIRE_LOG_LEVEL', 'loud'],
    ['OLLAMA_HOST', 'ftp://x'],
  ])('rejects %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('reads the system prompt from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatwire-config-'));
    const file = join(dir, 'prompt.txt');
    writeFileSync(file, 'You are a pirate.\n');
    expect(loadConfig({ CHATWIRE_SYSTEM_PROMPT_FILE: file }).persona.systemPrompt).toBe('You are a pirate.');
    expect(() => loadConfig({ CHATWIRE_SYSTEM_PROMPT_FILE: join(dir, 'missing.txt') })).toThrow(
      /CHATWIRE_SYSTEM_PROMPT_FILE/,
    );
  });

  it('reads the embedded engine, naming the model after its reference', () => {
    const config = loadConfig({ CHATWIRE_ENGINE: 'embedded' });
    expect(config.upstream).toEqual({
      kind: 'embedded',
      baseUrl: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M',
    });
    expect(config.persona.model).toBe('qwen2.5-0.5b-instruct:q4_k_m');
    expect(config.allowedModels).toEqual(['qwen2.5-0.5b-instruct:q4_k_m']);
    expect(config.embedded).toMatchObject({
      threads: availableParallelism(),
      parallel: 2,
      maxQueue: 64,
      contextLength: 4096,
      gpu: 'auto',
      pull: false,
      hfEndpoint: 'https://huggingface.co',
    });
    expect(config.embedded.modelsDir).toMatch(/chatwire[/\\]models$/);
  });

  it('takes the embedded model from a file, CHATWIRE_MODEL renaming it', () => {
    const fromFile = loadConfig({
      CHATWIRE_UPSTREAM_KIND: 'embedded',
      CHATWIRE_MODEL_FILE: '/models/Tiny-Chat.gguf',
    });
    expect(fromFile.persona.model).toBe('tiny-chat');
    const renamed = loadConfig({
      CHATWIRE_ENGINE: 'embedded',
      CHATWIRE_MODEL_FILE: '/models/Tiny-Chat.gguf',
      CHATWIRE_MODEL: 'tiny',
      CHATWIRE_GPU: 'false',
      HF_ENDPOINT: 'http://127.0.0.1:9/',
    });
    expect(renamed.persona.model).toBe('tiny');
    expect(renamed.embedded).toMatchObject({
      modelName: 'tiny',
      gpu: false,
      hfEndpoint: 'http://127.0.0.1:9',
    });
  });

  it('refuses CHATWIRE_ENGINE and CHATWIRE_UPSTREAM_KIND that disagree, and a bad model reference', () => {
    expect(() => loadConfig({ CHATWIRE_ENGINE: 'embedded', CHATWIRE_UPSTREAM_KIND: 'ollama' })).toThrow(
      /disagree/,
    );
    expect(() => loadConfig({ CHATWIRE_MODEL_FILE: 'hf:nobody' })).toThrow(/CHATWIRE_MODEL_FILE/);
  });
});
