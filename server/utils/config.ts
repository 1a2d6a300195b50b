/**
 * Runtime configuration from the environment (ARCHITECTURE §9). Read once; everything
 * else asks here instead of reading process.env.
 */
import { resolve } from 'node:path'

function int(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${raw}"`)
  return n
}

function choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`)
  return raw as T
}

function list(name: string): string[] {
  return (process.env[name] ?? '').split(',').map(s => s.trim()).filter(Boolean)
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof logLevels)[number]

export type SenecaConfig = ReturnType<typeof readConfig>

export function readConfig() {
  return {
    dataDir: resolve(process.env.SENECA_DATA_DIR || './data'),
    marcusRoot: process.env.MARCUS_ROOT || undefined,
    marcusLogDir: process.env.MARCUS_LOG_DIR || undefined,
    marcusMcpUrl: process.env.MARCUS_MCP_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    /** How often the log tailer looks for new lines and files. */
    marcusPollMs: int('SENECA_MARCUS_POLL_MS', 250),
    /** The Marcus MCP connector: poll interval, per-call timeout, circuit-breaker reset and reconnect backoff. */
    marcusMcp: {
      pollMs: int('SENECA_MARCUS_MCP_POLL_MS', 5000),
      timeoutMs: int('SENECA_MARCUS_MCP_TIMEOUT_MS', 3000),
      resetMs: int('SENECA_MARCUS_MCP_RESET_MS', 10_000),
      reconnectMinMs: int('SENECA_MARCUS_MCP_RECONNECT_MIN_MS', 1000),
      reconnectMaxMs: int('SENECA_MARCUS_MCP_RECONNECT_MAX_MS', 30_000),
      /** Shown to Marcus as `seneca-<instance>` when authenticating. */
      instance: process.env.SENECA_INSTANCE_ID || undefined,
    },
    /** A conversation with no message for this long is `idle` rather than `active`. */
    conversationIdleMs: int('SENECA_CONVERSATION_IDLE_MS', 15 * 60_000),
    /** Agents that send heartbeats are unavailable after this long without one. */
    heartbeatTimeoutMs: int('SENECA_HEARTBEAT_TIMEOUT_MS', 30_000),
    /** Agents known only by their activity (Marcus workers) are unavailable after this long silent. */
    activityTimeoutMs: int('SENECA_ACTIVITY_TIMEOUT_MS', 15 * 60_000),
    degradedResponseMs: int('SENECA_DEGRADED_RESPONSE_MS', 10_000),
    degradedErrorRate: int('SENECA_DEGRADED_ERROR_RATE', 0.2),
    healthIntervalMs: int('SENECA_HEALTH_INTERVAL_MS', 5000),
    /** Unacknowledged agent commands expire after this long. */
    commandTtlMs: int('SENECA_COMMAND_TTL_MS', 5 * 60_000),
    /** Namespace of every Redis key (cache, cache generations, rate-limit counters), so instances of one deployment share them and others do not. */
    redisPrefix: process.env.SENECA_REDIS_PREFIX || 'seneca',
    rateLimits: {
      enabled: choice('SENECA_RATE_LIMITS', ['on', 'off'], 'on') === 'on',
      perMinute: int('SENECA_RATE_LIMIT_PER_MINUTE', 100),
      perHour: int('SENECA_RATE_LIMIT_PER_HOUR', 1000),
      /** Ingest is priced in events, not requests: a 5,000-event batch costs 5,000. */
      ingestEventsPerMinute: int('SENECA_INGEST_EVENTS_PER_MINUTE', 600_000),
    },
    /** Take the client address from X-Forwarded-For (only behind a proxy that sets it): anonymous rate limits key on it. */
    trustProxy: ['1', 'true'].includes(choice('SENECA_TRUST_PROXY', ['0', '1', 'false', 'true'], '0')),
    /** Origins allowed to call the API from a browser; none means same-origin only (no CORS headers). */
    corsOrigins: list('SENECA_CORS_ORIGINS'),
    logLevel: choice('SENECA_LOG_LEVEL', logLevels, 'info'),
    /** When set, GET /metrics wants `Authorization: Bearer <token>`. */
    metricsToken: process.env.SENECA_METRICS_TOKEN || undefined,
    /**
     * `SENECA_GATEWAY=off`: no authentication, rate limits, request metrics or request logs —
     * for measuring the gateway's own cost only; refused unless the server listens on loopback.
     */
    gatewayOff: choice('SENECA_GATEWAY', ['on', 'off'], 'on') === 'off',
    /** Where the built server listens (Nitro reads the same variables). */
    host: process.env.NITRO_HOST || process.env.HOST || '',
  }
}

let config: SenecaConfig | undefined

export function useConfig(): SenecaConfig {
  config ??= readConfig()
  return config
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host)
}
