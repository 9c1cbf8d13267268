/** What an SSE body is made of, read as a strict client would: events of fields, and comments. */
export interface SseEvent {
  data: string;
  id?: string;
}

/**
 * The events of an SSE body (any of the three line ends). Throws on a field other than `data` and `id`:
 * chatwire never sends one, so one appearing was forged by something relayed into the stream.
 */
export function parseSseEvents(body: string): SseEvent[] {
  const events: SseEvent[] = [];
  let data: string[] = [];
  let id: string | undefined;
  for (const line of body.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length > 0) events.push({ data: data.join('\n'), ...(id !== undefined && { id }) });
      data = [];
      id = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else throw new Error(`unexpected SSE field ${JSON.stringify(field)} in line ${JSON.stringify(line)}`);
  }
  if (data.length > 0) throw new Error('SSE body ends inside an event');
  return events;
}

/** Each NDJSON line parsed; a line that is not one JSON object fails the test. */
export function parseNdjsonLines(body: string): Array<Record<string, unknown>> {
  if (body !== '' && !body.endsWith('\n')) throw new Error('NDJSON body does not end with a newline');
  return body
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error(`NDJSON line is not an object: ${line}`);
      return value as Record<string, unknown>;
    });
}
