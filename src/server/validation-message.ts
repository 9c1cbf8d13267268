import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

/**
 * One sentence naming the field, e.g. `messages[0].role must be one of: system, user, assistant, tool`.
 * Clients show this to developers, so it uses the body's own field names, not JSON pointers.
 */
export function validationMessage(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const error = errors[0];
  if (error === undefined) return new Error(`${dataVar} is invalid`);
  const path = fieldPath(error.instancePath) || dataVar;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return new Error(
        `${joinField(fieldPath(error.instancePath), String(params.missingProperty))} is required`,
      );
    case 'type':
      return new Error(`${path} must be ${article(String(params.type))}`);
    case 'enum':
      return new Error(`${path} must be one of: ${(params.allowedValues as unknown[]).join(', ')}`);
    case 'maxItems':
      return new Error(`${path} must have at most ${params.limit} items`);
    case 'minItems':
      return new Error(`${path} must have at least ${params.limit} item${params.limit === 1 ? '' : 's'}`);
    case 'minLength':
      return new Error(`${path} must not be empty`);
    default:
      return new Error(`${path} ${error.message ?? 'is invalid'}`);
  }
}

function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : joinField(path, part)), '');
}

function joinField(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
