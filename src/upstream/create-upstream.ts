import type { Dispatcher } from 'undici';
import type { Config } from '../config/config.js';
import type { ChatUpstream } from './chat-upstream.js';
import { EmbeddedUpstream } from './embedded/embedded-upstream.js';
import { OllamaUpstream } from './ollama/ollama-upstream.js';
import { OpenAiUpstream } from './openai/openai-upstream.js';

/** The configured upstream, whatever protocol it speaks. */
export function createUpstream(config: Config, dispatcher?: Dispatcher): ChatUpstream {
  const common = {
    baseUrl: config.upstream.baseUrl,
    connections: config.upstreamConnections,
    connectTimeoutMs: config.timeouts.connectMs,
    lineLimitBytes: config.limits.lineBytes,
    dispatcher,
  };
  switch (config.upstream.kind) {
    case 'ollama':
      return new OllamaUpstream(common);
    case 'openai':
      return new OpenAiUpstream({ ...common, apiKey: config.upstream.apiKey });
    case 'embedded':
      // node-llama-cpp itself is imported only once this upstream loads its model.
      return new EmbeddedUpstream(config.embedded);
  }
}
