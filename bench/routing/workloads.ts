import {
  GEN_TOKENS_PER_S,
  LOADED_MODEL_CAP,
  MAX_STREAMS,
  MIX_LOADED_MODEL_CAP,
  PROMPT_TOKENS_PER_S,
  TARGET_UTILISATION,
} from './constants.js';
import { Prng } from './prng.js';
import type { Role, SessionTrace, TraceCall, TraceMessage, Workload } from './trace.js';

const VOCABULARY_SIZE = 4096;
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'su',
  'ta',
  'ri',
  'po',
  'de',
  'fu',
  'ga',
  'hi',
  'jo',
  'be',
  'vu',
  'zo',
];

/** Words of two or three syllables: text a few characters per token, like English, so blocks are ~40 tokens. */
const VOCABULARY: readonly string[] = (() => {
  const random = new Prng(0x5eed);
  const words = new Set<string>();
  while (words.size < VOCABULARY_SIZE) {
    const syllables = random.int(2, 3);
    let word = '';
    for (let i = 0; i < syllables; i++) word += random.pick(SYLLABLES);
    words.add(word);
  }
  return [...words];
})();

function message(role: Role, length: number, random: Prng): TraceMessage {
  const tokens = new Int32Array(length);
  const words: string[] = [];
  for (let i = 0; i < length; i++) {
    const id = random.int(0, VOCABULARY_SIZE - 1);
    tokens[i] = id;
    words.push(VOCABULARY[id] as string);
  }
  return { role, content: words.join(' '), tokens };
}

export interface WorkloadOptions {
  hosts: number;
  seed: number;
  quick: boolean;
}

/** Sessions per 4 hosts: the arrival rate scales with the cluster, so each N sees the same load for as long. */
function sessionCount(full: number, quick: number, options: WorkloadOptions): number {
  return Math.round(((options.quick ? quick : full) * options.hosts) / 4);
}

function chatSessions(
  prefix: string,
  models: (random: Prng) => string,
  options: WorkloadOptions,
): SessionTrace[] {
  const random = new Prng(options.seed).fork(0xc4a7);
  const system = message('system', 2_000, random);
  const sessions: SessionTrace[] = [];
  const count = sessionCount(200, 40, options);
  for (let s = 0; s < count; s++) {
    const calls: TraceCall[] = [];
    for (let turn = 0; turn < 8; turn++) {
      calls.push({
        delayMs: turn === 0 ? 0 : random.exp(15_000),
        append: [message('user', random.int(20, 80), random)],
        reply: message('assistant', random.int(100, 300), random),
      });
    }
    sessions.push({ id: `${prefix}-${s}`, model: models(random), startMs: 0, initial: [system], calls });
  }
  return sessions;
}

function agentSessions(options: WorkloadOptions): SessionTrace[] {
  const random = new Prng(options.seed).fork(0xa9e7);
  const system = message('system', 1_500, random);
  const sessions: SessionTrace[] = [];
  const count = sessionCount(80, 16, options);
  for (let s = 0; s < count; s++) {
    const calls: TraceCall[] = [];
    for (let turn = 0; turn < 3; turn++) {
      // The first turn carries the task's context (files, docs): 4-8k tokens with the system prompt.
      const user = message('user', turn === 0 ? random.int(2_500, 6_500) : random.int(20, 80), random);
      const steps = random.int(3, 6);
      for (let step = 0; step < steps; step++) {
        calls.push({
          delayMs: step > 0 ? random.int(500, 2_000) : turn === 0 ? 0 : random.exp(20_000),
          append: step === 0 ? [user] : [message('tool', random.int(300, 1_500), random)],
          reply: message('assistant', random.int(50, 250), random),
        });
      }
    }
    sessions.push({ id: `agent-${s}`, model: 'coder-14b', startMs: 0, initial: [system], calls });
  }
  return sessions;
}

/** Stream time a session needs if every prompt hit its cache: the floor the load target is set against. */
function busyMs(session: SessionTrace): number {
  let total = 0;
  let fresh = session.initial.reduce((sum, m) => sum + m.tokens.length + 1, 0);
  for (const call of session.calls) {
    for (const m of call.append) fresh += m.tokens.length + 1;
    total += (fresh / PROMPT_TOKENS_PER_S + (call.reply.tokens.length + 1) / GEN_TOKENS_PER_S) * 1000;
    fresh = 0;
  }
  return total;
}

/** Poisson session arrivals at the rate that keeps TARGET_UTILISATION of the streams busy in steady state. */
function schedule(sessions: SessionTrace[], options: WorkloadOptions, salt: number): void {
  const random = new Prng(options.seed).fork(salt);
  const work = sessions.reduce((sum, s) => sum + busyMs(s), 0);
  const span = work / (TARGET_UTILISATION * options.hosts * MAX_STREAMS);
  let at = 0;
  for (const session of sessions) {
    session.startMs = at;
    at += random.exp(span / sessions.length);
  }
}

export const WORKLOAD_NAMES = ['chat', 'agent', 'mix'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export function buildWorkload(name: WorkloadName, options: WorkloadOptions): Workload {
  if (name === 'chat') {
    const sessions = chatSessions('chat', () => 'chat-8b', options);
    schedule(sessions, options, 1);
    return { name, models: ['chat-8b'], modelCap: LOADED_MODEL_CAP, sessions };
  }
  if (name === 'agent') {
    const sessions = agentSessions(options);
    schedule(sessions, options, 2);
    return { name, models: ['coder-14b'], modelCap: LOADED_MODEL_CAP, sessions };
  }
  const sessions = chatSessions('mix', (random) => (random.next() < 0.7 ? 'chat-8b' : 'chat-3b'), options);
  schedule(sessions, options, 3);
  return { name, models: ['chat-8b', 'chat-3b'], modelCap: MIX_LOADED_MODEL_CAP, sessions };
}
