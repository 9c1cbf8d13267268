/** OpenAI's error envelope, which the `openai` SDK turns into its typed errors (BadRequestError, …). */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAiErrorBody(
  status: number,
  message: string,
  details: { param?: string | null; code?: string | null } = {},
): OpenAiErrorBody {
  return {
    error: {
      message,
      type: openAiErrorType(status),
      param: details.param ?? null,
      code: details.code ?? null,
    },
  };
}

function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'api_error';
}

/**
 * The SDKs retry 408, 409, 429 and 5xx on their own. A retry is wrong when the request itself is at fault,
 * and when the model already had its full first-token budget: retrying would only queue another long load.
 */
export function shouldRetry(status: number): boolean {
  if (status === 408 || status === 409 || status === 429) return true;
  if (status === 504) return false;
  return status >= 500;
}
