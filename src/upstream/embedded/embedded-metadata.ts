import type { LoadedModel } from './load-embedded-model.js';

/**
 * The loaded model described in Ollama's shapes (`/api/ps`, `/api/show`, `/api/tags` details), from the
 * GGUF's own metadata.
 */
export function modelDetails(loaded: LoadedModel): Record<string, unknown> {
  const general = generalMetadata(loaded);
  const family = typeof general.architecture === 'string' ? general.architecture : '';
  return {
    parent_model: '',
    format: 'gguf',
    family,
    families: family === '' ? null : [family],
    parameter_size: typeof general.size_label === 'string' ? general.size_label : '',
    quantization_level: FILE_TYPES[Number(general.file_type)] ?? '',
  };
}

export function psEntry(loaded: LoadedModel, name: string): Record<string, unknown> {
  return {
    name,
    model: name,
    size: loaded.model.size,
    digest: '',
    details: modelDetails(loaded),
    // Loaded for as long as the gateway runs.
    expires_at: '9999-12-31T23:59:59Z',
    size_vram: loaded.model.gpuLayers > 0 ? loaded.model.size : 0,
    context_length: loaded.context.contextSize,
  };
}

export function showBody(loaded: LoadedModel): Record<string, unknown> {
  const metadata = loaded.model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } };
  const template = metadata.tokenizer?.chat_template;
  return {
    modelfile: '',
    parameters: '',
    template: typeof template === 'string' ? template : '',
    details: modelDetails(loaded),
    model_info: flatten(loaded.model.fileInfo.metadata),
    capabilities: ['completion'],
    modified_at: loaded.loadedAt.toISOString(),
  };
}

function generalMetadata(loaded: LoadedModel): Record<string, unknown> {
  const metadata = loaded.model.fileInfo.metadata as { general?: Record<string, unknown> };
  return metadata.general ?? {};
}

/** GGUF metadata as Ollama's `model_info` spells it: dotted keys, without the (large) arrays. */
function flatten(value: unknown, prefix = '', into: Record<string, unknown> = {}): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return into;
  for (const [key, entry] of Object.entries(value)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (Array.isArray(entry)) continue;
    if (entry !== null && typeof entry === 'object') flatten(entry, name, into);
    else into[name] = typeof entry === 'bigint' ? Number(entry) : entry;
  }
  return into;
}

/** llama.cpp's `general.file_type` values for the quantizations one meets in practice. */
const FILE_TYPES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  30: 'IQ4_XS',
  32: 'BF16',
};
