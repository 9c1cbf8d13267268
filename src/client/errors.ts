/**
 * Every failure the client reports, except an abort (which surfaces as the abort reason, like fetch does).
 *
 * `code` is `http_<status>` for an error status, `stream_error` for an `{"error"}` line after the stream began,
 * `truncated` for a stream that ended without its `done:true` line, `bad_response` for a body that is not what
 * chatwire sends, and `network_error` when the request never got a response.
 */
export class ChatwireError extends Error {
  override readonly name = 'ChatwireError';
  readonly status: number;
  readonly code: string;

  constructor(message: string, status: number, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}

/** The error for a non-2xx response, with the message from its `{"error":"…"}` body when there is one. */
export async function errorFromResponse(response: Response): Promise<ChatwireError> {
  const body = await response.text().catch(() => '');
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    // chatwire's own routes answer {"error":"…"}; its OpenAI-compatible ones {"error":{"message":"…"}}.
    const nested = (parsed.error as { message?: unknown } | null | undefined)?.message;
    if (typeof parsed.error === 'string') message = parsed.error;
    else if (typeof nested === 'string') message = nested;
  } catch {
    if (body.trim() !== '') message = body.trim().slice(0, 200);
  }
  return new ChatwireError(message, response.status, `http_${response.status}`);
}
