import type { CrashLedger, ReplySeen } from './crash-ledger.js';

export { seededRandom } from './seeded-random.js';

export interface LoadOptions {
  url: string;
  ledger: CrashLedger;
  random: () => number;
  /** Names this cycle's writes, so each one's content is unique across the run. */
  cycle: number;
  workers: number;
  /** True once the gateway is being killed: workers start nothing new. */
  stopped: () => boolean;
  /** Each reply token a client receives. */
  onToken: () => void;
  /** Anything a client saw that no correct gateway would send (a 5xx, a malformed line). */
  problems: string[];
}

/**
 * The write load a kill lands in: workers that create, message (staying to the end, or leaving so the
 * reply runs on detached, or stream:false), regenerate, rename and delete conversations, one request at a
 * time per conversation, recording in the ledger what each answer acknowledged.
 */
export async function driveLoad(options: LoadOptions): Promise<void> {
  let sequence = 0;
  const next = () => `c${options.cycle}-${sequence++}`;
  const worker = async () => {
    while (!options.stopped()) {
      const idle = options.ledger.idle();
      const roll = options.random();
      const id = idle[Math.floor(options.random() * idle.length)];
      if (id === undefined || roll < 0.2) await create(options, next());
      else {
        options.ledger.take(id);
        try {
          if (roll < 0.65) await message(options, id, `question ${next()}`);
          else if (roll < 0.8) await regenerate(options, id);
          else if (roll < 0.9) await rename(options, id, `renamed ${next()}`);
          else await remove(options, id);
        } finally {
          options.ledger.release(id);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
}

async function create({ url, ledger, random, problems }: LoadOptions, name: string): Promise<void> {
  const title = random() < 0.3 ? null : `chat ${name}`;
  const acknowledge = ledger.createSent(title);
  const response = await send(`${url}/v1/conversations`, 'POST', title === null ? {} : { title });
  if (response === undefined) return;
  const body = await response.json().catch(() => undefined);
  if (response.status !== 201) problems.push(`create answered ${response.status}`);
  else if (body !== undefined) {
    acknowledge();
    ledger.created((body as { id: string }).id, title);
  }
}

async function rename({ url, ledger, problems }: LoadOptions, id: string, title: string): Promise<void> {
  const response = await send(`${url}/v1/conversations/${id}`, 'PATCH', { title });
  const body = await response?.json().catch(() => undefined);
  if (response !== undefined && response.status !== 200) problems.push(`rename answered ${response.status}`);
  ledger.renamed(id, title, body !== undefined && response?.status === 200);
}

async function remove({ url, ledger, problems }: LoadOptions, id: string): Promise<void> {
  const response = await send(`${url}/v1/conversations/${id}`, 'DELETE');
  if (response !== undefined && response.status !== 204) problems.push(`delete answered ${response.status}`);
  ledger.removed(id, response?.status === 204);
}

async function message(options: LoadOptions, id: string, question: string): Promise<void> {
  const { url, ledger, random } = options;
  if (random() < 0.2) {
    // stream:false answers only once the reply is stored complete.
    const response = await send(`${url}/v1/conversations/${id}/messages`, 'POST', {
      content: question,
      stream: false,
    });
    if (response?.status === 409) return void (await response.arrayBuffer().catch(() => {}));
    if (response !== undefined && response.status !== 200)
      options.problems.push(`stream:false message answered ${response.status}`);
    const acknowledged = response?.status === 200;
    ledger.posted(id, question, acknowledged ? { question, text: '', done: true, stayed: true } : undefined);
    const body = (await response?.json().catch(() => undefined)) as
      | { message?: { content: string } }
      | undefined;
    if (acknowledged && body !== undefined && body.message?.content !== ledger.reply)
      options.problems.push(`stream:false answered ${JSON.stringify(body)}`);
    return;
  }
  await stream(options, `${url}/v1/conversations/${id}/messages`, { content: question }, question, (seen) =>
    ledger.posted(id, question, seen),
  );
}

async function regenerate(options: LoadOptions, id: string): Promise<void> {
  const question = options.ledger.lastQuestion(id);
  // With no question to answer again the gateway says 409, which the ledger need not hear of.
  await stream(options, `${options.url}/v1/conversations/${id}/regenerate`, {}, question ?? '', (seen) =>
    options.ledger.regenerated(id, seen),
  );
}

/**
 * Sends one streamed turn and reads it like a client: to the end (or the kill), or leaving after a few
 * tokens, the reply then running on detached. `sent` hears what was acknowledged as soon as it is known:
 * what the client saw (filled in as it reads on) once the stream started, undefined when the answer never
 * arrived. A 409 (another reply is running, or nothing to regenerate) changes nothing and is not told.
 */
async function stream(
  { random, problems, onToken }: LoadOptions,
  url: string,
  body: unknown,
  question: string,
  sent: (seen: ReplySeen | undefined) => void,
): Promise<void> {
  const response = await send(url, 'POST', body);
  if (response === undefined) return sent(undefined);
  if (response.status === 409) return void (await response.arrayBuffer().catch(() => {}));
  if (response.status !== 200) {
    problems.push(`${url} answered ${response.status}: ${await response.text().catch(() => '')}`);
    return;
  }
  const leaveAfter = random() < 0.5 ? Number.POSITIVE_INFINITY : 1 + Math.floor(random() * 60);
  const seen: ReplySeen = {
    question,
    text: '',
    done: false,
    stayed: leaveAfter === Number.POSITIVE_INFINITY,
  };
  sent(seen);
  await readReply(response, seen, leaveAfter, problems, onToken);
}

async function readReply(
  response: Response,
  seen: ReplySeen,
  leaveAfter: number,
  problems: string[],
  onToken: () => void,
) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let tokens = 0;
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffer += decoder.decode(read.value, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const chunk = JSON.parse(line) as { message?: { content: string }; done?: boolean; error?: string };
        if (chunk.error !== undefined) problems.push(`a reply stream carried an error: ${chunk.error}`);
        if (chunk.message?.content) {
          seen.text += chunk.message.content;
          tokens++;
          onToken();
        }
        if (chunk.done === true) seen.done = true;
      }
      if (tokens >= leaveAfter) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // the gateway was killed: what arrived before is what counts
  }
}

/** The response, or undefined when the gateway died before answering. */
async function send(url: string, method: string, body?: unknown): Promise<Response | undefined> {
  try {
    return await fetch(url, {
      method,
      ...(body !== undefined && {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    });
  } catch {
    return undefined;
  }
}
