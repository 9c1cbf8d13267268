// The generation script for one /api/chat request: load, prompt eval, chunks, injected faults, final chunk.
import type { SimBehaviour } from './ollama-simulator.js';
import { type ChatExchange, JSON_TYPE } from './simulator-exchange.js';
import {
  finalChunk,
  goJson,
  intermediateChunk,
  type MetricName,
  mergeMessages,
  nowNs,
  toWireToolCalls,
  type WireMessage,
  wireMessage,
} from './simulator-wire.js';

const DEFAULT_TOKENS = ['Hel', 'lo', ' wor', 'ld'];
const RUNNER_CRASH =
  'model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details';
const DEFAULT_OVERSIZED_BYTES = 2 * 1024 * 1024;

export interface ChatJob {
  model: string;
  streaming: boolean;
  promptTokens: number;
}

type MidStream = NonNullable<SimBehaviour['midStream']>;

function plan(b: SimBehaviour): WireMessage[] {
  const toolCalls = toWireToolCalls(b.toolCalls ?? []);
  return [
    ...(b.thinking ?? []).map((piece) => wireMessage('', piece)),
    ...(b.tokens ?? DEFAULT_TOKENS).map((piece) => wireMessage(piece)),
    ...(toolCalls.length ? [wireMessage('', undefined, toolCalls)] : []),
  ];
}

const line = (value: unknown) => `${goJson(value)}\n`;

export async function runChat(x: ChatExchange, b: SimBehaviour, job: ChatJob): Promise<void> {
  const started = nowNs();
  if (b.headersEarly && job.streaming) x.sendHeadersNow();
  await x.delay(b.loadDelayMs);
  if (b.stallBeforeFirstChunk) return x.untilClosed();
  if (x.closed) return;
  if (b.preError) return preError(x, b.preError, job);
  const loaded = nowNs();
  await x.delay(b.promptEvalDelayMs);
  if (x.closed) return;
  const evalStarted = nowNs();

  const pieces = plan(b);
  const produced: WireMessage[] = [];
  const faultAt = b.midStream ? Math.min(b.midStream.afterChunks, pieces.length) : -1;
  for (let i = 0; i <= pieces.length; i++) {
    if (i > 0) await x.delay(b.tokenDelayMs);
    if (x.closed) return;
    if (i === faultAt && b.midStream) {
      const proceed = await injectFault(x, b.midStream, job, produced);
      if (!proceed || x.closed) return;
    }
    const piece = pieces[i];
    if (!piece) break;
    produced.push(piece);
    x.chunksProduced++;
    if (job.streaming) await x.writeLine(line(intermediateChunk(job.model, piece)));
  }
  if (x.closed) return;

  const finished = nowNs();
  const metrics: Partial<Record<MetricName, number>> = {
    total_duration: Number(finished - started),
    load_duration: Number(loaded - started),
    prompt_eval_count: job.promptTokens,
    prompt_eval_duration: Number(evalStarted - loaded),
    eval_count: produced.length,
    eval_duration: Number(finished - evalStarted),
    ...b.finalMetrics,
  };
  const doneReason = b.doneReason ?? 'stop';
  if (!job.streaming) {
    return x.send(
      200,
      JSON_TYPE,
      goJson(finalChunk(job.model, doneReason, metrics, mergeMessages(produced))),
    );
  }
  await x.writeLine(line(finalChunk(job.model, doneReason, metrics)));
  await x.end();
}

async function preError(x: ChatExchange, error: NonNullable<SimBehaviour['preError']>, job: ChatJob) {
  // Servers up to v0.12.5 had already committed to a 200 NDJSON stream, as has any server once headers are out.
  if (job.streaming && (error.legacy || x.headersSent)) {
    await x.writeLine(line({ error: error.error }));
    return x.end();
  }
  x.send(error.status, JSON_TYPE, goJson({ error: error.error }));
}

/** Returns whether generation continues after the fault. */
async function injectFault(x: ChatExchange, fault: MidStream, job: ChatJob, produced: WireMessage[]) {
  const message = fault.message ?? RUNNER_CRASH;
  switch (fault.mode) {
    case 'error-line':
      if (!job.streaming) {
        x.send(500, JSON_TYPE, goJson({ error: message }));
        return false;
      }
      await x.writeLine(line({ error: message }));
      await x.end();
      return false;
    case 'destroy':
      await x.destroy();
      return false;
    case 'end-without-done':
      // Ollama's non-streaming collector answers with the last chunk it saw, which here was not a done chunk.
      if (!job.streaming) {
        x.send(200, JSON_TYPE, goJson(intermediateChunk(job.model, mergeMessages(produced))));
        return false;
      }
      await x.end();
      return false;
    case 'stall':
      await x.untilClosed();
      return false;
    case 'garbage-line':
      if (!job.streaming) {
        x.send(200, JSON_TYPE, 'not json\n');
        return false;
      }
      await x.writeLine('not json\n');
      return true;
    case 'oversized-line': {
      const bytes = fault.bytes ?? DEFAULT_OVERSIZED_BYTES;
      const chunk = intermediateChunk(job.model, wireMessage(''));
      // Same object, same created_at: the ASCII padding then adds exactly one byte per character.
      const piece = wireMessage('x'.repeat(Math.max(0, bytes - Buffer.byteLength(line(chunk)))));
      chunk.message = piece;
      produced.push(piece);
      x.chunksProduced++;
      if (job.streaming) await x.writeLine(line(chunk));
      return true;
    }
  }
}
