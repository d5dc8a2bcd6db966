/** Prometheus metrics, served at /metrics on the HTTP port. One registry per server instance. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  connections: Counter<'listener'>;
  connectionsOpen: Gauge<'listener'>;
  messages: Counter<'result'>;
  bytes: Counter<string>;
  acceptLatency: Histogram<string>;
  deliveries: Counter<'route' | 'result'>;
  deliveryLatency: Histogram<'route'>;
  queueDepth: Gauge<string>;
  groupCommitSize: Histogram<string>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kagami_process_' });
  const registers = [registry];
  return {
    registry,
    connections: new Counter({
      name: 'kagami_smtp_connections_total',
      help: 'SMTP connections accepted',
      labelNames: ['listener'],
      registers,
    }),
    connectionsOpen: new Gauge({
      name: 'kagami_smtp_connections_open',
      help: 'SMTP connections open now',
      labelNames: ['listener'],
      registers,
    }),
    messages: new Counter({
      name: 'kagami_smtp_messages_total',
      help: 'Messages at end of DATA, by result (accepted, rejected, tempfailed, aborted)',
      labelNames: ['result'],
      registers,
    }),
    bytes: new Counter({ name: 'kagami_smtp_bytes_total', help: 'Message bytes accepted', registers }),
    acceptLatency: new Histogram({
      name: 'kagami_smtp_accept_seconds',
      help: 'From end of DATA to the 250 reply (spool fsync and queue commit)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    deliveries: new Counter({
      name: 'kagami_deliveries_total',
      help: 'Delivery attempts by route and result (delivered, deferred, bounced)',
      labelNames: ['route', 'result'],
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'kagami_delivery_seconds',
      help: 'From acceptance to delivery',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 60, 600],
      registers,
    }),
    queueDepth: new Gauge({ name: 'kagami_queue_pending', help: 'Recipients waiting in the in-memory run queue', registers }),
    groupCommitSize: new Histogram({
      name: 'kagami_group_commit_messages',
      help: 'Messages made durable by one spool-directory fsync and one queue commit',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
  };
}
