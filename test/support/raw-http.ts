import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Header lines exactly as received, names as sent. */
  rawHeaders: string[];
  body: string;
}

/**
 * One request (a `transfer-encoding: chunked` header replaces the content-length) with its target sent byte for byte (fetch would resolve `..` and re-encode it), on a connection
 * of its own, read to the end.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  target: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const headers: Record<string, string> = {
    // Node sends a DELETE's body with neither length nor chunking unless told.
    ...(options.body !== undefined && {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(options.body)),
    }),
    ...options.headers,
  };
  if (headers['transfer-encoding'] !== undefined) delete headers['content-length'];
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: hostname,
        port,
        method,
        path: target,
        agent: false,
        headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            rawHeaders: response.rawHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}
