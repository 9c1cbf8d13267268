import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { NamedPersonaConfig } from './config.js';
import { ConfigError } from './config-error.js';

/**
 * The config file holds what environment variables cannot express: named personas, and upstream hosts
 * with their own kinds, keys and limits.
 * `{"personas": {"pirate": {"system_prompt": "…", "model": "llama3.2", "options": {"temperature": 1}}}}`
 */
const personaSchema = z
  .object({
    system_prompt: z.string(),
    model: z.string().min(1).optional(),
    description: z.string().optional(),
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const upstreamSchema = z
  .object({
    name: z.string().min(1).optional(),
    kind: z.enum(['ollama', 'openai']).optional(),
    url: z.string().min(1),
    apiKey: z.string().min(1).optional(),
    weight: z.number().positive().optional(),
    maxStreams: z.number().int().min(1).optional(),
  })
  .strict();

export type UpstreamFileEntry = z.infer<typeof upstreamSchema>;

const fileSchema = z
  .object({
    personas: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i), personaSchema).optional(),
    upstreams: z.array(upstreamSchema).min(1).optional(),
  })
  .strict();

export interface ConfigFile {
  personas: NamedPersonaConfig[];
  /** Undefined when the file has no `upstreams`. */
  upstreams: UpstreamFileEntry[] | undefined;
}

export function readConfigFile(path: string, defaultModel: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `invalid configuration: CHATWIRE_CONFIG_FILE=${JSON.stringify(path)}: ${(error as Error).message}`,
    );
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`,
    );
    throw new ConfigError(
      `invalid configuration: CHATWIRE_CONFIG_FILE=${JSON.stringify(path)}: ${problems.join('; ')}`,
    );
  }
  const personas = Object.entries(result.data.personas ?? {}).map(([name, persona]) => {
    if (name === 'default') {
      throw new ConfigError(
        `invalid configuration: CHATWIRE_CONFIG_FILE=${JSON.stringify(path)}: personas.default is set by the CHATWIRE_* variables`,
      );
    }
    const options = { ...persona.options };
    const temperature = typeof options.temperature === 'number' ? options.temperature : 0.7;
    const maxTokens = typeof options.num_predict === 'number' ? options.num_predict : 2048;
    delete options.temperature;
    delete options.num_predict;
    return {
      name,
      model: persona.model ?? defaultModel,
      systemPrompt: persona.system_prompt,
      temperature,
      maxTokens,
      ...(persona.description !== undefined && { description: persona.description }),
      ...(Object.keys(options).length > 0 && { options }),
    };
  });
  return { personas, upstreams: result.data.upstreams };
}
