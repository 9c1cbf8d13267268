// Runs in the browser page, next to the compiled client modules: the SDK as a web app uses it.
import { ChatwireError, createClient } from './client/index.js';

const messages = [{ role: 'user', content: 'hi' }];

/** Every event of one streamed chat. */
export async function streamChat(baseUrl) {
  const client = createClient({ baseUrl, apiKey: 'browser-key' });
  const events = [];
  for await (const event of client.chat.stream({ messages })) events.push(event);
  return events;
}

/** Aborts after the first token; returns the text seen and how the loop ended. */
export async function abortAfterFirstToken(baseUrl) {
  const stop = new AbortController();
  const texts = [];
  try {
    for await (const event of createClient({ baseUrl }).chat.stream({ messages, signal: stop.signal })) {
      if (event.type !== 'text') continue;
      texts.push(event.text);
      stop.abort();
    }
    return { texts, ended: 'normally' };
  } catch (error) {
    return { texts, ended: error.name, chatwireError: error instanceof ChatwireError };
  }
}

/** The error of a chat the gateway refuses. */
export async function failingChat(baseUrl) {
  try {
    await createClient({ baseUrl }).chat.stream({ messages }).text();
    return null;
  } catch (error) {
    const { status, code, message } = error;
    return { chatwireError: error instanceof ChatwireError, status, code, message };
  }
}
