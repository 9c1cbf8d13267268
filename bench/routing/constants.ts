/** The simulated cluster's figures, shared by the hosts, the workloads and the report. */

/** Concurrent streams per host; Ollama's OLLAMA_NUM_PARALLEL, which is also its slot count per model. */
export const MAX_STREAMS = 4;
/** Prompt-cache slots per loaded model (one per parallel stream, as in Ollama's runner). */
export const SLOTS_PER_MODEL = MAX_STREAMS;
/** Models a host keeps loaded at once (OLLAMA_MAX_LOADED_MODELS) in the chat and agent workloads. */
export const LOADED_MODEL_CAP = 2;
/** The mix workload leaves room for one model per host, so where each model lives matters. */
export const MIX_LOADED_MODEL_CAP = 1;
/** Loading a model's weights into memory before it can read anything. */
export const COLD_LOAD_MS = 8_000;
/** Prompt evaluation speed for tokens not in the slot's cache, per stream. */
export const PROMPT_TOKENS_PER_S = 2_000;
/** Generation speed per stream, independent of how many streams run (decode is memory-bound). */
export const GEN_TOKENS_PER_S = 30;
/** A request that waits longer than this for a stream (gateway queue plus host queue) counts as failed. */
export const QUEUE_TIMEOUT_MS = 30_000;
/** How often the gateway learns each host's loaded models (its /api/ps poll). */
export const PS_POLL_MS = 10_000;
/** Share of the cluster's streams the arrival rate is set to keep busy in steady state. */
export const TARGET_UTILISATION = 0.65;
/** Simulated time starts here rather than at 0, since the router reads a use time of 0 as "never used". */
export const EPOCH_MS = 1_000;
