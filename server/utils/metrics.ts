/**
 * Prometheus metrics (prom-client), served by GET /metrics. Every label takes values from a
 * small fixed set — route patterns, never raw paths or ids — so the number of series stays
 * bounded whatever clients send.
 *
 * Other modules report through the functions below rather than touching prom-client:
 * the request hook (server/plugins/02.observability.ts), the ingest path, the response cache,
 * the rate limiter, the realtime hub (`realtimeConnectionOpened/Closed`, `realtimeMessages`)
 * and the Marcus MCP connector's circuit breaker (`setCircuitBreakerState`).
 */
import { statSync } from 'node:fs'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { eventSchemas } from '../../shared/events'
import { useDatabase } from './db'

export const registry = new Registry()
collectDefaultMetrics({ register: registry })

const requests = new Counter({
  name: 'api_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status',
  labelNames: ['method', 'endpoint', 'status'] as const,
  registers: [registry],
})

const requestDuration = new Histogram({
  name: 'api_request_duration_seconds',
  help: 'Time from receiving a request to the end of its response, by method and route pattern',
  labelNames: ['method', 'endpoint'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
})

const realtimeConnections = new Gauge({
  name: 'websocket_connections',
  help: 'Open realtime connections, by transport (websocket or sse)',
  labelNames: ['transport'] as const,
  registers: [registry],
})

const realtimeMessageCount = new Counter({
  name: 'websocket_messages_total',
  help: 'Realtime messages, by direction (in: from clients, out: to clients) and transport',
  labelNames: ['direction', 'transport'] as const,
  registers: [registry],
})

const ingestEvents = new Counter({
  name: 'ingest_events_total',
  help: 'Events through the ingest path, by kind and outcome (stored, duplicate, rejected)',
  labelNames: ['kind', 'status'] as const,
  registers: [registry],
})

const ingestDuration = new Histogram({
  name: 'ingest_duration_seconds',
  help: 'Time of one ingest call (validation, transaction, listeners), by source',
  labelNames: ['source'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
})

const cacheRequests = new Counter({
  name: 'cache_requests_total',
  help: 'Response cache look-ups, by cache and result (hit, miss, bypass: cache unavailable, error)',
  labelNames: ['cache', 'result'] as const,
  registers: [registry],
})

const rateLimitRejections = new Counter({
  name: 'rate_limit_rejections_total',
  help: 'Requests refused with 429, by rate-limit policy',
  labelNames: ['policy'] as const,
  registers: [registry],
})

const circuitBreaker = new Gauge({
  name: 'circuit_breaker_state',
  help: 'Circuit breaker state by breaker: 0 closed, 1 half-open, 2 open',
  labelNames: ['breaker'] as const,
  registers: [registry],
})

// The size is read at scrape time, so it is never stale and costs nothing between scrapes.
new Gauge({
  name: 'database_size_bytes',
  help: 'SQLite database size: page_count × page_size plus the WAL file',
  registers: [registry],
  collect() {
    try {
      const { sqlite } = useDatabase()
      const pages = sqlite.pragma('page_count', { simple: true }) as number
      const pageSize = sqlite.pragma('page_size', { simple: true }) as number
      let wal = 0
      try {
        wal = statSync(`${sqlite.name}-wal`).size
      }
      catch { /* no WAL file (in-memory database, or checkpointed and removed) */ }
      this.set(pages * pageSize + wal)
    }
    catch { /* database not open: leave the last value */ }
  },
})

new Gauge({
  name: 'database_wal_bytes',
  help: 'Size of the SQLite write-ahead log file (shrinks at each scheduled wal_checkpoint(TRUNCATE))',
  registers: [registry],
  collect() {
    try {
      this.set(statSync(`${useDatabase().sqlite.name}-wal`).size)
    }
    catch { /* no WAL file */ }
  },
})

const retentionDeleted = new Counter({
  name: 'retention_deleted_rows_total',
  help: 'Rows deleted by retention, by data kind (messages, events, cost_events)',
  labelNames: ['kind'] as const,
  registers: [registry],
})

const maintenanceRuns = new Counter({
  name: 'database_maintenance_total',
  help: 'Database maintenance tasks run, by task (retention, checkpoint, optimize, vacuum) and result',
  labelNames: ['task', 'result'] as const,
  registers: [registry],
})

/** The retention job reports rows it deleted (server/utils/maintenance.ts). */
export function observeRetentionDeleted(kind: string, rows: number) {
  retentionDeleted.inc({ kind }, rows)
}

export function observeMaintenance(task: 'retention' | 'checkpoint' | 'optimize' | 'vacuum', result: 'ok' | 'busy' | 'error' | 'cancelled') {
  maintenanceRuns.inc({ task, result })
}

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** One answered HTTP request. `endpoint` must be a route pattern (`/api/conversations/:id`). */
export function observeRequest(method: string, endpoint: string, status: number, seconds: number) {
  const m = methods.has(method) ? method : 'OTHER'
  requests.inc({ method: m, endpoint, status: String(status) })
  requestDuration.observe({ method: m, endpoint }, seconds)
}

export type RealtimeTransport = 'websocket' | 'sse'

/** The realtime hub calls this when a client connection is established. */
export function realtimeConnectionOpened(transport: RealtimeTransport = 'websocket') {
  realtimeConnections.inc({ transport })
}

/** The realtime hub calls this when a client connection ends (for whatever reason). */
export function realtimeConnectionClosed(transport: RealtimeTransport = 'websocket') {
  realtimeConnections.dec({ transport })
}

/** Alternatively the hub may set the count outright (e.g. from its peer registry on each heartbeat). */
export function setRealtimeConnections(count: number, transport: RealtimeTransport = 'websocket') {
  realtimeConnections.set({ transport }, count)
}

/** Realtime messages: `in` for client frames received, `out` for frames sent (count a batch frame once). */
export function realtimeMessages(direction: 'in' | 'out', count = 1, transport: RealtimeTransport = 'websocket') {
  realtimeMessageCount.inc({ direction, transport }, count)
}

const knownKinds = new Set(Object.keys(eventSchemas))

/**
 * One ingest call: `raw` as given, `statuses` per item (same order). Counts are added up
 * per (kind, status) first, so a 5,000-event batch costs a handful of counter updates.
 */
export function observeIngest(raw: readonly unknown[], statuses: readonly ({ status: string } | undefined)[], source: string, seconds: number) {
  const counts = new Map<string, number>()
  for (let i = 0; i < raw.length; i++) {
    const kind = (raw[i] as { kind?: unknown } | null)?.kind
    const key = `${typeof kind === 'string' && knownKinds.has(kind) ? kind : 'unknown'}\u0000${statuses[i]?.status ?? 'rejected'}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  for (const [key, n] of counts) {
    const [kind, status] = key.split('\u0000') as [string, string]
    ingestEvents.inc({ kind, status }, n)
  }
  // `api:key_…` names the sender; the label keeps only the kind of source.
  ingestDuration.observe({ source: source.split(':')[0]! }, seconds)
}

export type CacheResult = 'hit' | 'miss' | 'bypass' | 'error'

export function observeCache(cache: string, result: CacheResult) {
  cacheRequests.inc({ cache, result })
}

export function observeRateLimitRejection(policy: string) {
  rateLimitRejections.inc({ policy })
}

export type CircuitState = 'closed' | 'half_open' | 'open'
const circuitValues: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 }

/** The Marcus MCP connector reports its breaker here (opossum's open / halfOpen / close events). */
export function setCircuitBreakerState(breaker: string, state: CircuitState) {
  circuitBreaker.set({ breaker }, circuitValues[state])
}

/** The Prometheus text exposition of every metric. */
export function renderMetrics(): Promise<string> {
  return registry.metrics()
}

export const metricsContentType = registry.contentType
