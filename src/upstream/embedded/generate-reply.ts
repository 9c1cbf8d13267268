import type { DoneChunk } from '../../contracts/chat-chunk.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import { ChunkChannel } from './chunk-channel.js';
import type { LoadedModel } from './load-embedded-model.js';
import type { ChatHistoryItem, LlamaContextSequence, LlamaGrammar } from './node-llama-cpp.js';
import type { SamplingOptions } from './to-llama-chat.js';

export interface ReplyJob {
  loaded: LoadedModel;
  sequence: LlamaContextSequence;
  history: ChatHistoryItem[];
  sampling: SamplingOptions;
  grammar?: LlamaGrammar;
  /** The name the client asked for, echoed on every chunk as Ollama does. */
  model: string;
  /** When the request reached the engine (`performance.now()`), and how much of that went to loading. */
  startedAt: number;
  loadMs: number;
  signal: AbortSignal;
  /** Called once generation has stopped and the sequence may serve another stream. */
  onSettled: (generatedTokens: number) => void;
}

const NS_PER_MS = 1_000_000;

/**
 * Generates one reply on a sequence, as chunks: a delta per piece of text llama.cpp detokenizes (thought
 * segments as thinking), then `done` with token counts and Ollama-style timings. The relay aborting, or the
 * reader leaving, stops generation at the next token.
 */
export function generateReply(job: ReplyJob): ChunkChannel {
  const stop = new AbortController();
  const signal = AbortSignal.any([job.signal, stop.signal]);
  const channel = new ChunkChannel(job.signal, () => stop.abort(new Error('the reader left')));
  const chat = new job.loaded.api.LlamaChat({ contextSequence: job.sequence });
  const meter = job.sequence.tokenMeter;
  const before = { input: meter.usedInputTokens, output: meter.usedOutputTokens };
  const generationStart = performance.now();
  let firstTextAt: number | undefined;

  chat
    .generateResponse(job.history, {
      ...job.sampling,
      ...(job.grammar !== undefined && { grammar: job.grammar }),
      signal,
      stopOnAbortSignal: true,
      onResponseChunk: (chunk) => {
        if (chunk.text === '') return;
        firstTextAt ??= performance.now();
        if (chunk.type === undefined) {
          channel.push({ type: 'delta', model: job.model, content: chunk.text });
        } else if (chunk.segmentType === 'thought') {
          channel.push({ type: 'delta', model: job.model, content: '', thinking: chunk.text });
        }
      },
    })
    .then(
      (result) => {
        if (signal.aborted) return channel.fail(abortReason(job.signal, signal));
        const end = performance.now();
        const first = firstTextAt ?? end;
        const done: DoneChunk = {
          type: 'done',
          model: job.model,
          doneReason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
          usage: {
            promptTokens: meter.usedInputTokens - before.input,
            completionTokens: meter.usedOutputTokens - before.output,
          },
          durations: {
            total: nanoseconds(end - job.startedAt),
            load: nanoseconds(job.loadMs),
            promptEval: nanoseconds(first - generationStart),
            eval: nanoseconds(end - first),
          },
        };
        channel.push(done);
      },
      (error: unknown) => {
        if (signal.aborted) return channel.fail(abortReason(job.signal, signal));
        channel.fail(
          new GatewayError(
            'upstream_stream_error',
            502,
            `embedded llama.cpp failed while generating: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          ),
        );
      },
    )
    .finally(() => {
      chat.dispose();
      job.onSettled(meter.usedOutputTokens - before.output);
    });
  return channel;
}

/** The relay's own reason when it aborted (a timeout, the client leaving), so it reports what it caused. */
function abortReason(relaySignal: AbortSignal, signal: AbortSignal): unknown {
  return relaySignal.aborted ? relaySignal.reason : signal.reason;
}

function nanoseconds(ms: number): number {
  return Math.max(0, Math.round(ms * NS_PER_MS));
}
