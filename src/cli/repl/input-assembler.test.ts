import { describe, expect, it } from 'vitest';
import { type AssembledInput, InputAssembler } from './input-assembler.js';

/** Feeds the lines; returns every result and the prompt shown before each line. */
function feed(...lines: string[]): { results: AssembledInput[]; prompts: string[] } {
  const input = new InputAssembler();
  const prompts: string[] = [];
  const results = lines.map((line) => {
    prompts.push(input.prompt);
    return input.push(line);
  });
  return { results, prompts };
}

describe('InputAssembler', () => {
  it('makes a message of a plain line and ignores a blank one', () => {
    expect(feed('hello there').results).toEqual([{ kind: 'message', text: 'hello there' }]);
    expect(feed('   ').results).toEqual([{ kind: 'empty' }]);
  });

  it('reads a """ block as one message with its line breaks, showing ... inside it', () => {
    const { results, prompts } = feed('"""', 'line one', '', '  line three', '"""');
    expect(results.at(-1)).toEqual({ kind: 'message', text: 'line one\n\n  line three' });
    expect(results.slice(0, -1).every((result) => result.kind === 'more')).toBe(true);
    expect(prompts).toEqual(['>>> ', '... ', '... ', '... ', '... ']);
  });

  it('keeps text on the opening and closing lines of a block, and takes a one-line block', () => {
    expect(feed('"""first', 'second"""').results.at(-1)).toEqual({ kind: 'message', text: 'first\nsecond' });
    expect(feed('"""just this"""').results).toEqual([{ kind: 'message', text: 'just this' }]);
  });

  it('does not read commands inside a block', () => {
    expect(feed('"""', '/exit', '"""').results.at(-1)).toEqual({ kind: 'message', text: '/exit' });
  });

  it('continues a line that ends with a backslash, keeping the line break', () => {
    const { results, prompts } = feed('one \\', 'two\\', 'three');
    expect(results).toEqual([
      { kind: 'more' },
      { kind: 'more' },
      { kind: 'message', text: 'one \ntwo\nthree' },
    ]);
    expect(prompts).toEqual(['>>> ', '... ', '... ']);
  });

  it('reads /name argument as a command', () => {
    expect(feed('/model llama3.2:1b').results).toEqual([
      { kind: 'command', name: 'model', argument: 'llama3.2:1b' },
    ]);
    expect(feed('  /HELP ').results).toEqual([{ kind: 'command', name: 'help', argument: '' }]);
  });

  it('forgets a half-typed block on reset', () => {
    const input = new InputAssembler();
    input.push('"""');
    input.push('draft');
    expect(input.pending).toBe(true);
    input.reset();
    expect(input.prompt).toBe('>>> ');
    expect(input.push('fresh')).toEqual({ kind: 'message', text: 'fresh' });
  });
});
