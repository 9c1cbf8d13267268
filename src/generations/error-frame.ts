import type { GatewayError } from '../contracts/gateway-error.js';
import { encodeNdjson } from '../protocol/ndjson/ndjson-decoder.js';
import { openAiErrorEvent } from '../protocol/openai/openai-chat-encoder.js';
import type { FrameFormat } from './generation-types.js';

/**
 * An in-band error in a generation's own format, for ends the gateway writes without an encoder at hand
 * (a resumer that finds its producer gone, a reader that fell behind): Ollama's `{"error"}` line on NDJSON,
 * OpenAI's error event on SSE.
 */
export function errorFrame(format: FrameFormat, error: GatewayError): string {
  return format === 'sse' ? openAiErrorEvent(error) : encodeNdjson({ error: error.message });
}
