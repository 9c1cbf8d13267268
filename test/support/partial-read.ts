/**
 * Reads a streamed body until `cutAtByte` bytes have arrived (or it ends), then drops the connection, the
 * way a network change does: what the client holds may end inside a frame.
 */
export async function readThenDrop(
  response: Response,
  controller: AbortController,
  cutAtByte: number,
): Promise<{ text: string; ended: boolean }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let received = 0;
  while (received < cutAtByte) {
    const { done, value } = await reader.read();
    if (done) return { text: text + decoder.decode(), ended: true };
    const wanted = value.subarray(0, cutAtByte - received);
    received += wanted.length;
    text += decoder.decode(wanted, { stream: true });
  }
  controller.abort();
  await reader.cancel().catch(() => {});
  return { text, ended: false };
}

/** The complete frames of a partial body: NDJSON lines, or SSE events (each with its blank line). */
export function completeFrames(text: string, separator: '\n' | '\n\n'): string[] {
  const parts = text.split(separator);
  parts.pop();
  return parts.map((part) => part + separator);
}

/** A small deterministic generator, so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
