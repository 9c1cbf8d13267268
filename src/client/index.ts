/**
 * The chatwire client: `import { createClient } from 'chatwire/client'`. It uses only fetch, ReadableStream,
 * TextDecoder and AbortSignal, so the same code runs in Node 20 and in browsers.
 */
export { ChatStream } from './chat-stream.js';
export {
  type ChatwireClient,
  type ClientOptions,
  createClient,
  type MessageInput,
  type RegenerateInput,
} from './client.js';
export { ChatwireError } from './errors.js';
export type * from './types.js';
