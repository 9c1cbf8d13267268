/**
 * The one server-sent-events writer. Every frame ends with a blank line, so each write is a complete event and a
 * client never holds a half event between flushes.
 */

/**
 * One `data:` event. JSON.stringify never emits raw line breaks, but a CR or LF in the input would otherwise end
 * the line and let the rest be read as new fields or a new event, so each line becomes its own `data:` line
 * (the reader joins them back with '\n').
 */
export function encodeSseData(json: string): string {
  return `data: ${json.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}

/** A comment line: every SSE reader ignores it, so it keeps idle connections and proxies alive. */
export function encodeSseComment(text: string): string {
  return `: ${text.replace(/[\r\n]/g, '')}\n\n`;
}

/** The OpenAI end-of-stream marker. */
export const SSE_DONE = 'data: [DONE]\n\n';
