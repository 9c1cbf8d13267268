// Byte-level details of what Ollama (a Go server) puts on the wire, so the simulator's output can be compared
// byte for byte with the real thing.
import { createHash, randomInt } from 'node:crypto';
import type { SimToolCall } from './ollama-simulator.js';

export type MetricName =
  | 'total_duration'
  | 'load_duration'
  | 'prompt_eval_count'
  | 'prompt_eval_duration'
  | 'eval_count'
  | 'eval_duration';

// Struct order of api.Metrics; JSON key order is part of what byte-exact relay tests compare.
const METRIC_ORDER: MetricName[] = [
  'total_duration',
  'load_duration',
  'prompt_eval_count',
  'prompt_eval_duration',
  'eval_count',
  'eval_duration',
];

export interface WireToolCall {
  id: string;
  function: { index: number; name: string; arguments: Record<string, unknown> };
}

export interface WireMessage {
  role: 'assistant';
  content: string;
  thinking?: string;
  tool_calls?: WireToolCall[];
}

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** json.Marshal output: like JSON.stringify, plus Go's HTML-safe escaping (these characters only occur inside strings). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

// Date.now() has millisecond resolution but Go timestamps carry nanoseconds, so the monotonic clock is anchored
// to the wall clock once.
const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNs(): bigint {
  return epochOffsetNs + process.hrtime.bigint();
}

/** time.RFC3339Nano in UTC: up to 9 fractional digits, trailing zeros (and a bare dot) trimmed. */
export function rfc3339Nano(ns: bigint): string {
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const seconds = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  return `${seconds}${fraction ? `.${fraction}` : ''}Z`;
}

export function wireMessage(content: string, thinking?: string, toolCalls?: WireToolCall[]): WireMessage {
  // Go's omitempty: an empty thinking string or tool list is not serialized at all.
  return {
    role: 'assistant',
    content,
    ...(thinking ? { thinking } : {}),
    ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
  };
}

export function mergeMessages(messages: WireMessage[]): WireMessage {
  return wireMessage(
    messages.map((m) => m.content).join(''),
    messages.map((m) => m.thinking ?? '').join(''),
    messages.flatMap((m) => m.tool_calls ?? []),
  );
}

export function intermediateChunk(model: string, message: WireMessage): Record<string, unknown> {
  return { model, created_at: rfc3339Nano(nowNs()), message, done: false };
}

export function finalChunk(
  model: string,
  doneReason: string,
  metrics: Partial<Record<MetricName, number>>,
  message: WireMessage = wireMessage(''),
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    model,
    created_at: rfc3339Nano(nowNs()),
    message,
    done: true,
    done_reason: doneReason,
  };
  for (const key of METRIC_ORDER) {
    const value = metrics[key];
    if (value) out[key] = value;
  }
  return out;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function toWireToolCalls(calls: SimToolCall[]): WireToolCall[] {
  return calls.map((call, position) => ({
    id:
      call.id ??
      `call_${Array.from({ length: 8 }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('')}`,
    function: {
      index: call.function.index ?? position,
      name: call.function.name,
      arguments: call.function.arguments,
    },
  }));
}

/**
 * Two cut points for writing a line in three pieces. They land inside multibyte UTF-8 sequences when there are
 * any, because that is what breaks clients that decode each network read on its own.
 */
export function splitPoints(line: Buffer): [number, number] {
  const multibyte: Array<{ start: number; length: number }> = [];
  for (let i = 0; i < line.length; i++) {
    const byte = line[i] ?? 0;
    if (byte >= 0xc0) multibyte.push({ start: i, length: byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2 });
  }
  const third = Math.max(1, Math.floor(line.length / 3));
  const first = multibyte[0];
  const last = multibyte[multibyte.length - 1];
  if (!first || !last) return [third, Math.min(line.length - 1, Math.max(third + 1, 2 * third))];
  const a = first.start + 1;
  if (last !== first) return [a, last.start + last.length - 1];
  if (first.length > 2) return [a, first.start + 2];
  return [a, Math.min(line.length - 1, Math.max(a + 1, 2 * third))];
}

export function tagEntry(listed: string, modifiedAtNs: bigint): Record<string, unknown> {
  // Ollama always lists the full name, with the ':latest' tag it resolves bare names to.
  const name = listed.lastIndexOf(':') > listed.lastIndexOf('/') ? listed : `${listed}:latest`;
  const digest = createHash('sha256').update(name).digest('hex');
  const family = /^[a-z]+/i.exec(name)?.[0] ?? 'llama';
  const billions = /:(\d+(?:\.\d+)?)b\b/i.exec(name)?.[1] ?? '3.2';
  return {
    name,
    model: name,
    modified_at: rfc3339Nano(modifiedAtNs),
    size: Math.round(Number(billions) * 6e8) + Number.parseInt(digest.slice(0, 5), 16),
    digest,
    details: {
      parent_model: '',
      format: 'gguf',
      family,
      families: [family],
      parameter_size: `${billions}B`,
      quantization_level: 'Q4_K_M',
    },
  };
}
