import type { FastifyReply } from 'fastify';

/**
 * Adds to `Vary` instead of replacing it: the CORS plugin's `Origin` must survive, or a shared cache could
 * hand one origin's response, with its Access-Control-Allow-Origin, to another.
 */
export function addVary(reply: FastifyReply, name: string): FastifyReply {
  const current = reply.getHeader('vary');
  const names =
    current === undefined
      ? []
      : String(current)
          .split(',')
          .map((part) => part.trim());
  if (!names.some((part) => part.toLowerCase() === name.toLowerCase())) names.push(name);
  return reply.header('vary', names.filter((part) => part !== '').join(', '));
}
