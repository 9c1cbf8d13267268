import { describe, expect, it } from 'vitest';
import type { ChatChunk } from '../../contracts/chat-chunk.js';
import { ollamaChatEncoder } from './ollama-chat-encoder.js';

const wireDelta = (line: string): ChatChunk => {
  const object = JSON.parse(line);
  return {
    type: 'delta',
    model: object.model,
    content: object.message.content,
    wire: { protocol: 'ollama-ndjson', bytes: Buffer.from(`${line}\n`), object },
  };
};

describe('ollamaChatEncoder', () => {
  it('relays upstream lines byte for byte, escapes included', () => {
    const lines = [
      '{"model":"m","created_at":"t","message":{"role":"assistant","content":"\\u003cb\\u003e"},"done":false}',
      '{"model":"m","created_at":"t","message":{"role":"assistant","content":"é"},"done":false}',
    ];
    const bytes = ollamaChatEncoder.batch(lines.map(wireDelta));
    expect(bytes.toString()).toBe(`${lines.join('\n')}\n`);
  });

  it('writes lines that arrived in one read as one view of that read, without copying', () => {
    const read = Buffer.from(
      '{"model":"m","message":{"content":"a"},"done":false}\n{"model":"m","message":{"content":"b"},"done":false}\n',
    );
    const cut = read.indexOf('\n') + 1;
    const chunk = (bytes: Buffer): ChatChunk => ({
      type: 'delta',
      model: 'm',
      content: '',
      wire: { protocol: 'ollama-ndjson', bytes, object: {} },
    });
    const out = ollamaChatEncoder.batch([chunk(read.subarray(0, cut)), chunk(read.subarray(cut))]);
    expect(out.equals(read)).toBe(true);
    expect(out.buffer).toBe(read.buffer);
  });

  it('encodes chunks that have no Ollama line', () => {
    const done: ChatChunk = {
      type: 'done',
      model: 'm',
      doneReason: 'length',
      usage: { promptTokens: 5, completionTokens: 0 },
      durations: { total: 10 },
    };
    const object = JSON.parse(ollamaChatEncoder.batch([done]).toString());
    expect(object).toMatchObject({ model: 'm', done: true, done_reason: 'length', prompt_eval_count: 5 });
    expect(object).not.toHaveProperty('eval_count');
  });

  it('merges a whole reply for stream:false', () => {
    const reply = ollamaChatEncoder.reply([
      { type: 'delta', model: 'm', content: 'Hel', thinking: 'hm' },
      { type: 'delta', model: 'm', content: 'lo', toolCalls: [{ function: { name: 'f', arguments: {} } }] },
      {
        type: 'done',
        model: 'm',
        doneReason: 'stop',
        usage: { promptTokens: 1, completionTokens: 2 },
        durations: {},
      },
    ]);
    expect(reply).toMatchObject({
      model: 'm',
      done: true,
      done_reason: 'stop',
      eval_count: 2,
      message: {
        role: 'assistant',
        content: 'Hello',
        thinking: 'hm',
        tool_calls: [{ function: { name: 'f' } }],
      },
    });
  });

  it('writes an in-band error as one line', () => {
    expect(ollamaChatEncoder.errorLine({ message: 'boom' })).toBe('{"error":"boom"}\n');
  });
});
