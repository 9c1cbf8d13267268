import { writeFile } from 'node:fs/promises';
import { encodeGguf, type GgufTensor, type GgufValue } from './encode-gguf.js';

/**
 * A llama-architecture model small enough to generate in a test (about 500 KB): a byte-level SentencePiece
 * vocabulary, a ChatML chat template and seeded random weights. It talks nonsense, but it runs the real
 * llama.cpp load, prompt and sampling path, deterministically under greedy decoding.
 */
export interface TinyModelShape {
  embedding: number;
  layers: number;
  heads: number;
  feedForward: number;
  contextLength: number;
  seed: number;
}

const DEFAULT_SHAPE: TinyModelShape = {
  embedding: 64,
  layers: 2,
  heads: 4,
  feedForward: 128,
  contextLength: 2048,
  seed: 7,
};

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// llama.cpp's token types.
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const BYTE = 6;

// SentencePiece spells a space as U+2581; as a token of its own it detokenizes back to a space.
const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>', '\u2581'];
const BOS_ID = 1;
const EOS_ID = 4;
const FIRST_BYTE_ID = SPECIAL_TOKENS.length;

/** Writes the model to `path`; returns its size in bytes. */
export async function writeTinyGguf(path: string, shape: Partial<TinyModelShape> = {}): Promise<number> {
  const file = encodeTinyGguf({ ...DEFAULT_SHAPE, ...shape });
  await writeFile(path, file);
  return file.length;
}

export function encodeTinyGguf(shape: TinyModelShape = DEFAULT_SHAPE): Buffer {
  const bytes = Array.from(
    { length: 256 },
    (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`,
  );
  const tokens = [...SPECIAL_TOKENS, ...bytes];
  const tokenTypes = [UNKNOWN, CONTROL, CONTROL, CONTROL, CONTROL, NORMAL, ...bytes.map(() => BYTE)];
  const headDimension = shape.embedding / shape.heads;
  const metadata: Record<string, GgufValue> = {
    'general.architecture': { type: 'string', value: 'llama' },
    'general.name': { type: 'string', value: 'chatwire tiny test model' },
    'general.alignment': { type: 'u32', value: 32 },
    'general.file_type': { type: 'u32', value: 0 },
    'llama.context_length': { type: 'u32', value: shape.contextLength },
    'llama.embedding_length': { type: 'u32', value: shape.embedding },
    'llama.block_count': { type: 'u32', value: shape.layers },
    'llama.feed_forward_length': { type: 'u32', value: shape.feedForward },
    'llama.attention.head_count': { type: 'u32', value: shape.heads },
    'llama.attention.head_count_kv': { type: 'u32', value: shape.heads },
    'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-5 },
    'llama.rope.dimension_count': { type: 'u32', value: headDimension },
    'llama.vocab_size': { type: 'u32', value: tokens.length },
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'string[]', value: tokens },
    'tokenizer.ggml.scores': { type: 'f32[]', value: tokens.map(() => 0) },
    'tokenizer.ggml.token_type': { type: 'i32[]', value: tokenTypes },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: BOS_ID },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: EOS_ID },
    'tokenizer.ggml.unknown_token_id': { type: 'u32', value: 0 },
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: false },
    'tokenizer.ggml.add_space_prefix': { type: 'bool', value: false },
    'tokenizer.chat_template': { type: 'string', value: CHATML_TEMPLATE },
  };
  return encodeGguf(metadata, tensorsFor(shape, tokens.length));
}

function tensorsFor(shape: TinyModelShape, vocabulary: number): GgufTensor[] {
  const random = mulberry32(shape.seed);
  const { embedding: n, feedForward: ff } = shape;
  const weights = (name: string, dims: number[], scale = 0.2): GgufTensor => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let index = 0; index < data.length; index++) data[index] = (random() * 2 - 1) * scale;
    return { name, shape: dims, data };
  };
  const ones = (name: string): GgufTensor => ({ name, shape: [n], data: new Float32Array(n).fill(1) });
  const tensors = [
    weights('token_embd.weight', [n, vocabulary], 1),
    ones('output_norm.weight'),
    output(n, vocabulary, random),
  ];
  for (let layer = 0; layer < shape.layers; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      ones(`${block}.attn_norm.weight`),
      weights(`${block}.attn_q.weight`, [n, n]),
      weights(`${block}.attn_k.weight`, [n, n]),
      weights(`${block}.attn_v.weight`, [n, n]),
      weights(`${block}.attn_output.weight`, [n, n]),
      ones(`${block}.ffn_norm.weight`),
      weights(`${block}.ffn_gate.weight`, [n, ff]),
      weights(`${block}.ffn_up.weight`, [n, ff]),
      weights(`${block}.ffn_down.weight`, [ff, n]),
    );
  }
  return tensors;
}

/**
 * The output projection only scores printable ASCII: every other row is zero, so greedy decoding picks a
 * printable byte over the end-of-turn token and replies run to their token limit as readable text.
 */
function output(n: number, vocabulary: number, random: () => number): GgufTensor {
  const data = new Float32Array(n * vocabulary);
  for (let token = 0; token < vocabulary; token++) {
    const byte = token - FIRST_BYTE_ID;
    if (byte < 0x20 || byte > 0x7e) continue;
    for (let column = 0; column < n; column++) data[token * n + column] = (random() * 2 - 1) * 2;
  }
  return { name: 'output.weight', shape: [n, vocabulary], data };
}

/** A small seeded PRNG: the same seed writes the same model, byte for byte. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
