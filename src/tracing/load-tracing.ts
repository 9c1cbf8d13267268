import type { Tracer } from '@opentelemetry/api';
import { VERSION } from '../version.js';

export interface Tracing {
  tracer: Tracer;
  /** Sends what is still buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry SDK, loaded only when an OTLP endpoint is configured (the standard OTEL_* variables:
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_SERVICE_NAME, OTEL_SDK_DISABLED…), so that a gateway without tracing never pays for its modules.
 * Spans go over OTLP/HTTP (JSON) through a batching processor; the exporter reads the variables itself.
 */
export async function loadTracing(
  env: Record<string, string | undefined> = process.env,
): Promise<Tracing | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME || 'chatwire',
      'service.version': VERSION,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  return { tracer: provider.getTracer('chatwire', VERSION), shutdown: () => provider.shutdown() };
}
