import {
  type OllamaSimulator,
  type SimAbort,
  type SimBehaviour,
  startOllamaSimulator,
} from './ollama-simulator.js';
import { type OpenAiSimBehaviour, type OpenAiSimulator, startOpenAiSimulator } from './openai-simulator.js';

export type UpstreamKind = 'ollama' | 'openai';

/** What a test asks of an upstream, in words both simulators understand. */
export interface NeutralBehaviour {
  tokens?: string[];
  tokenDelayMs?: number;
  /** Before any header. */
  firstTokenDelayMs?: number;
  stallBeforeFirstChunk?: boolean;
  preError?: { status: number; message: string };
  /** After this many content chunks. */
  midStream?: { afterChunks: number; mode: 'error' | 'destroy' | 'stall'; message?: string };
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
  reasoning?: string[];
  usage?: { promptTokens: number; completionTokens: number };
}

export interface TestUpstream {
  kind: UpstreamKind;
  /** Environment that points chatwire at this upstream. */
  env: Record<string, string>;
  behave(behaviour: NeutralBehaviour): void;
  reset(): void;
  requests: Array<{ path: string; body: unknown }>;
  nextAbort(): Promise<SimAbort>;
  close(): Promise<void>;
}

export const MODELS = ['qwen2.5:7b', 'llama3.2'];

/** The same test, over each upstream protocol chatwire speaks. */
export async function startTestUpstream(kind: UpstreamKind): Promise<TestUpstream> {
  if (kind === 'ollama') {
    const sim = await startOllamaSimulator({ models: MODELS });
    return wrap(kind, sim, { OLLAMA_HOST: sim.url }, (b) => sim.behave(toOllama(b)));
  }
  const sim = await startOpenAiSimulator({ models: MODELS });
  return wrap(kind, sim, { CHATWIRE_UPSTREAM_KIND: 'openai', CHATWIRE_UPSTREAM_URL: `${sim.url}/v1` }, (b) =>
    sim.behave(toOpenAi(b)),
  );
}

function wrap(
  kind: UpstreamKind,
  sim: OllamaSimulator | OpenAiSimulator,
  env: Record<string, string>,
  behave: (b: NeutralBehaviour) => void,
): TestUpstream {
  return {
    kind,
    env,
    behave,
    reset: () => sim.reset(),
    get requests() {
      return sim.requests;
    },
    nextAbort: () => sim.nextAbort(),
    close: () => sim.close(),
  };
}

function toOllama(b: NeutralBehaviour): SimBehaviour {
  return {
    ...(b.tokens && { tokens: b.tokens }),
    ...(b.tokenDelayMs !== undefined && { tokenDelayMs: b.tokenDelayMs }),
    ...(b.firstTokenDelayMs !== undefined && { promptEvalDelayMs: b.firstTokenDelayMs }),
    ...(b.stallBeforeFirstChunk && { stallBeforeFirstChunk: true }),
    ...(b.preError && { preError: { status: b.preError.status, error: b.preError.message } }),
    ...(b.midStream && {
      midStream: {
        afterChunks: b.midStream.afterChunks,
        mode: b.midStream.mode === 'error' ? 'error-line' : b.midStream.mode,
        ...(b.midStream.message && { message: b.midStream.message }),
      },
    }),
    ...(b.toolCalls && { toolCalls: b.toolCalls.map((call) => ({ function: call })) }),
    ...(b.reasoning && { thinking: b.reasoning }),
    ...(b.usage && {
      finalMetrics: { prompt_eval_count: b.usage.promptTokens, eval_count: b.usage.completionTokens },
    }),
  };
}

function toOpenAi(b: NeutralBehaviour): OpenAiSimBehaviour {
  return {
    ...(b.tokens && { tokens: b.tokens }),
    ...(b.tokenDelayMs !== undefined && { tokenDelayMs: b.tokenDelayMs }),
    ...(b.firstTokenDelayMs !== undefined && { promptDelayMs: b.firstTokenDelayMs }),
    ...(b.stallBeforeFirstChunk && { stallBeforeFirstChunk: true }),
    ...(b.preError && { preError: { status: b.preError.status, message: b.preError.message } }),
    ...(b.midStream && {
      // The OpenAI simulator counts its role chunk as a data event.
      midStream: {
        afterChunks: b.midStream.afterChunks + 1,
        mode: b.midStream.mode === 'error' ? 'error-event' : b.midStream.mode,
        ...(b.midStream.message && { message: b.midStream.message }),
      },
    }),
    ...(b.toolCalls && {
      toolCalls: b.toolCalls.map((call) => ({ name: call.name, arguments: JSON.stringify(call.arguments) })),
    }),
    ...(b.reasoning && { reasoning: b.reasoning }),
    ...(b.usage && {
      usage: { prompt_tokens: b.usage.promptTokens, completion_tokens: b.usage.completionTokens },
    }),
  };
}
