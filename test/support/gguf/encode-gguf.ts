/**
 * A GGUF v3 encoder, just enough for test models: typed metadata, F32 tensors, 32-byte alignment.
 * Layout: header, metadata key/values, tensor infos, padding, then each tensor's data at an aligned offset.
 */

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: string[] }
  | { type: 'f32[]'; value: number[] }
  | { type: 'i32[]'; value: number[] };

export interface GgufTensor {
  name: string;
  /** ggml order: the innermost (contiguous) dimension first. */
  shape: number[];
  data: Float32Array;
}

const ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;
const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;

/** Accumulates little-endian bytes in growable chunks. */
class ByteSink {
  private readonly parts: Buffer[] = [];
  length = 0;

  bytes(buffer: Buffer): void {
    this.parts.push(buffer);
    this.length += buffer.length;
  }

  u32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value);
    this.bytes(buffer);
  }

  i32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value);
    this.bytes(buffer);
  }

  u64(value: number): void {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    this.bytes(buffer);
  }

  f32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeFloatLE(value);
    this.bytes(buffer);
  }

  string(value: string): void {
    const encoded = Buffer.from(value, 'utf8');
    this.u64(encoded.length);
    this.bytes(encoded);
  }

  padTo(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    if (padding > 0) this.bytes(Buffer.alloc(padding));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

export function encodeGguf(metadata: Record<string, GgufValue>, tensors: GgufTensor[]): Buffer {
  const sink = new ByteSink();
  sink.bytes(Buffer.from('GGUF', 'ascii'));
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(Object.keys(metadata).length);
  for (const [key, entry] of Object.entries(metadata)) {
    sink.string(key);
    writeValue(sink, entry);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    const elements = tensor.shape.reduce((product, size) => product * size, 1);
    if (elements !== tensor.data.length) {
      throw new Error(`tensor ${tensor.name}: shape ${tensor.shape} needs ${elements} values`);
    }
    sink.string(tensor.name);
    sink.u32(tensor.shape.length);
    for (const size of tensor.shape) sink.u64(size);
    sink.u32(GGML_TYPE_F32);
    sink.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((elements * 4) / ALIGNMENT) * ALIGNMENT;
  }
  sink.padTo(ALIGNMENT);
  const dataStart = sink.length;
  tensors.forEach((tensor, index) => {
    sink.padTo(ALIGNMENT);
    if (sink.length - dataStart !== offsets[index]) throw new Error(`tensor ${tensor.name} is misplaced`);
    sink.bytes(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  });
  sink.padTo(ALIGNMENT);
  return sink.toBuffer();
}

function writeValue(sink: ByteSink, entry: GgufValue): void {
  switch (entry.type) {
    case 'u32':
      sink.u32(VALUE_TYPE.u32);
      sink.u32(entry.value);
      break;
    case 'i32':
      sink.u32(VALUE_TYPE.i32);
      sink.i32(entry.value);
      break;
    case 'f32':
      sink.u32(VALUE_TYPE.f32);
      sink.f32(entry.value);
      break;
    case 'bool':
      sink.u32(VALUE_TYPE.bool);
      sink.bytes(Buffer.from([entry.value ? 1 : 0]));
      break;
    case 'string':
      sink.u32(VALUE_TYPE.string);
      sink.string(entry.value);
      break;
    case 'string[]':
      writeArrayHeader(sink, VALUE_TYPE.string, entry.value.length);
      for (const item of entry.value) sink.string(item);
      break;
    case 'f32[]':
      writeArrayHeader(sink, VALUE_TYPE.f32, entry.value.length);
      for (const item of entry.value) sink.f32(item);
      break;
    case 'i32[]':
      writeArrayHeader(sink, VALUE_TYPE.i32, entry.value.length);
      for (const item of entry.value) sink.i32(item);
      break;
  }
}

function writeArrayHeader(sink: ByteSink, elementType: number, count: number): void {
  sink.u32(VALUE_TYPE.array);
  sink.u32(elementType);
  sink.u64(count);
}
