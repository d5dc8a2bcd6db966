/**
 * The HTTP app, built as a value (tests can use inject); main.ts binds it. For now it serves
 * Prometheus metrics and a health check; the API and dashboard join it later.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

export interface WebDeps {
  metrics: Metrics;
  /** Whether the server is ready to take mail (listeners bound, not shutting down). */
  ready(): boolean;
}

export function buildWebApp(deps: WebDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.get('/healthz', async (_req, reply) => {
    const ok = deps.ready();
    reply.code(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'stopping' };
  });
  return app;
}
