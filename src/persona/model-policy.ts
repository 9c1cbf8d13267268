import { GatewayError } from '../contracts/gateway-error.js';

/** Ollama treats `llama3.2` and `llama3.2:latest` as one model; so does the allow-list. */
function canonical(model: string): string {
  return model.endsWith(':latest') ? model.slice(0, -':latest'.length) : model;
}

export function isModelAllowed(model: string, allowed: string[] | '*'): boolean {
  if (allowed === '*') return true;
  const name = canonical(model);
  return allowed.some((entry) => canonical(entry) === name);
}

/** 400 naming the allowed models, for every API that lets a client choose one. */
export function assertModelAllowed(model: string, allowed: string[] | '*'): void {
  if (isModelAllowed(model, allowed)) return;
  throw new GatewayError(
    'bad_request',
    400,
    `model '${model}' is not allowed; allowed models: ${(allowed as string[]).join(', ')}`,
  );
}
