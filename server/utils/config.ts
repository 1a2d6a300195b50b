/**
 * Runtime configuration from the environment (ARCHITECTURE §9 and the variables added since).
 * One zod schema, `envSchema`, names every variable, its type and its default; the server
 * checks it once at start (server/plugins/00.config.ts) and a bad value stops the start with a
 * one-line reason. Everything else asks `useConfig()` instead of reading process.env, so a typo
 * in a variable's value is found at boot, not at the first request that needs it.
 */
import { resolve } from 'node:path'
import { z } from 'zod'

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof logLevels)[number]

/** Unset and empty both mean "the default", as shells make it easy to export an empty variable. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v)

function number(fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {}) {
  const what = integer ? 'a whole number' : 'a number'
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`
  return z.preprocess(unsetIfEmpty, z.string().optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback
      const n = Number(raw.trim())
      if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${what} ${range}` })
        return z.NEVER
      }
      return n
    }))
}

function oneOf<const T extends readonly [string, ...string[]]>(allowed: T, fallback: T[number]) {
  return z.preprocess(unsetIfEmpty, z.string().optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback
      if (!(allowed as readonly string[]).includes(raw)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${allowed.join(', ')}` })
        return z.NEVER
      }
      return raw as T[number]
    }))
}

const text = () => z.preprocess(unsetIfEmpty, z.string().optional())

function url(protocols: readonly string[]) {
  return z.preprocess(unsetIfEmpty, z.string().optional()
    .refine((raw) => {
      if (raw === undefined) return true
      try {
        return protocols.includes(new URL(raw).protocol)
      }
      catch {
        return false
      }
    }, { message: `must be a URL (${protocols.map(p => `${p}//`).join(' or ')}…)` }))
}

const list = () => z.preprocess(unsetIfEmpty, z.string().optional()
  .transform(raw => (raw ?? '').split(',').map(s => s.trim()).filter(Boolean)))

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `off` (or `0`) keeps data forever; otherwise an age with a unit: `90d`, `12h`, `30m`. */
function retention() {
  return z.preprocess(unsetIfEmpty, z.string().optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === 'off' || raw === '0') return 0
      const m = /^(\d+)(ms|s|m|h|d)$/.exec(raw.trim())
      if (!m || Number(m[1]) === 0) {
        ctx.addIssue({ code: 'custom', message: 'must be off or an age with a unit, e.g. 90d, 12h, 30m' })
        return z.NEVER
      }
      return Number(m[1]) * units[m[2]!]!
    }))
}

function msList(fallback: number[]) {
  return z.preprocess(unsetIfEmpty, z.string().optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback
      const parts = raw.split(',').map(s => s.trim())
      if (parts.some(p => !/^\d+$/.test(p))) {
        ctx.addIssue({ code: 'custom', message: 'must be milliseconds separated by commas, e.g. 1000,4000,16000' })
        return z.NEVER
      }
      return parts.map(Number)
    }))
}

const port = () => number(3000, { min: 1, max: 65_535 })

/** Every environment variable the server reads. Keys are the variables' names. */
export const envSchema = z.object({
  // Where the built server listens (Nitro reads PORT/HOST itself; checked here all the same).
  PORT: port(),
  NITRO_PORT: port(),
  HOST: text(),
  NITRO_HOST: text(),
  SENECA_DATA_DIR: text(),
  SENECA_MIGRATIONS_DIR: text(),
  SENECA_SQLITE_CACHE_MB: number(96, { min: 2, max: 65_536 }),
  SENECA_JWT_SECRET: z.preprocess(unsetIfEmpty, z.string().min(16, 'must be at least 16 characters (a random string; unset it to have one generated into the data directory)').optional()),
  SENECA_ADMIN_KEY: z.preprocess(unsetIfEmpty, z.string().regex(/^sk_[\w-]{20,200}$/, 'must be sk_ followed by 20 to 200 letters, digits, - or _').optional()),
  MARCUS_ROOT: text(),
  MARCUS_LOG_DIR: text(),
  MARCUS_MCP_URL: url(['http:', 'https:']),
  MARCUS_COSTS_DB: text(),
  REDIS_URL: url(['redis:', 'rediss:']),
  SENECA_REDIS_PREFIX: z.preprocess(unsetIfEmpty, z.string().regex(/^[\w.:-]+$/, 'must be letters, digits, and . : _ -').optional().default('seneca')),
  SENECA_INSTANCE_ID: text(),
  SENECA_MARCUS_POLL_MS: number(250, { min: 10 }),
  SENECA_MARCUS_COSTS_POLL_MS: number(5000, { min: 10 }),
  SENECA_MARCUS_MCP_POLL_MS: number(5000, { min: 10 }),
  SENECA_MARCUS_MCP_TIMEOUT_MS: number(3000, { min: 1 }),
  SENECA_MARCUS_MCP_RESET_MS: number(10_000, { min: 1 }),
  SENECA_MARCUS_MCP_RECONNECT_MIN_MS: number(1000, { min: 1 }),
  SENECA_MARCUS_MCP_RECONNECT_MAX_MS: number(30_000, { min: 1 }),
  SENECA_CONVERSATION_IDLE_MS: number(15 * 60_000, { min: 1 }),
  SENECA_HEARTBEAT_TIMEOUT_MS: number(30_000, { min: 1 }),
  SENECA_ACTIVITY_TIMEOUT_MS: number(15 * 60_000, { min: 1 }),
  SENECA_DEGRADED_RESPONSE_MS: number(10_000, { min: 1 }),
  SENECA_DEGRADED_ERROR_RATE: number(0.2, { min: 0, max: 1, integer: false }),
  SENECA_HEALTH_INTERVAL_MS: number(5000, { min: 10 }),
  SENECA_COMMAND_TTL_MS: number(5 * 60_000, { min: 1 }),
  SENECA_RATE_LIMITS: oneOf(['on', 'off'], 'on'),
  SENECA_RATE_LIMIT_PER_MINUTE: number(100, { min: 1 }),
  SENECA_RATE_LIMIT_PER_HOUR: number(1000, { min: 1 }),
  SENECA_INGEST_EVENTS_PER_MINUTE: number(600_000, { min: 1 }),
  SENECA_TRUST_PROXY: oneOf(['0', '1', 'false', 'true'], '0'),
  SENECA_CORS_ORIGINS: list(),
  SENECA_LOG_LEVEL: oneOf(logLevels, 'info'),
  SENECA_METRICS_TOKEN: text(),
  SENECA_GATEWAY: oneOf(['on', 'off'], 'on'),
  // Pipeline notifications
  SENECA_NOTIFY_RETRY_DELAYS_MS: msList([1000, 4000, 16_000]),
  SENECA_NOTIFY_TIMEOUT_MS: number(10_000, { min: 1 }),
  SENECA_SMTP_URL: url(['smtp:', 'smtps:']),
  SENECA_SMTP_FROM: text(),
  // Realtime (read by server/utils/realtime.ts; validated here with the rest)
  SENECA_WS_MAX_CONNECTIONS: number(1000),
  SENECA_WS_REPLAY_MAX: number(10_000),
  SENECA_WS_MAX_BUFFER_BYTES: number(4 * 1024 * 1024),
  SENECA_WS_BATCH_MS: number(100, { integer: false }),
  SENECA_WS_LIGHT_BATCH_MS: number(20, { integer: false }),
  SENECA_WS_SEND_BUDGET: number(20_000, { integer: false }),
  SENECA_WS_FLUSH_SLICE_MS: number(3, { integer: false }),
  SENECA_WS_OVERLOAD_ELU: number(0.8, { max: 1, integer: false }),
  SENECA_WS_BUSY_RATE: number(500, { integer: false }),
  SENECA_WS_PING_MS: number(10_000),
  SENECA_WS_AUTH_TIMEOUT_MS: number(5000),
  SENECA_WS_RATE_LIMIT: number(100, { integer: false }),
  SENECA_WS_MAX_MESSAGE_BYTES: number(64 * 1024),
  // Several processes and shutdown
  NITRO_CLUSTER_WORKERS: number(0, { min: 0, max: 1024 }),
  SENECA_LEADER_TTL_MS: number(10_000, { min: 1000 }),
  SENECA_SHUTDOWN_TIMEOUT_MS: number(10_000, { min: 1000, max: 120_000 }),
  // Retention and database maintenance (server/utils/maintenance.ts)
  SENECA_RETENTION_MESSAGES: retention(),
  SENECA_RETENTION_EVENTS: retention(),
  SENECA_RETENTION_COST_EVENTS: retention(),
  SENECA_RETENTION_INTERVAL_MS: number(60 * 60_000, { min: 1000 }),
  SENECA_RETENTION_BATCH: number(500, { min: 1, max: 100_000 }),
  SENECA_CHECKPOINT_INTERVAL_MS: number(5 * 60_000, { min: 0 }),
  SENECA_OPTIMIZE_INTERVAL_MS: number(6 * 60 * 60_000, { min: 0 }),
  SENECA_VACUUM: oneOf(['off', 'incremental', 'full'], 'off'),
  SENECA_BACKUP_DIR: text(),
})

export type SenecaEnv = z.output<typeof envSchema>

/** Variables whose values are never echoed in an error (secrets, or URLs that may carry a password). */
const secretVariables = new Set(['SENECA_JWT_SECRET', 'SENECA_ADMIN_KEY', 'SENECA_METRICS_TOKEN', 'REDIS_URL', 'SENECA_SMTP_URL'])

export class ConfigError extends Error {
  constructor(readonly variable: string, readonly reason: string, value: string | undefined) {
    super(`${variable} ${reason}${secretVariables.has(variable) || value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`)
  }
}

/** Parses the environment; throws a ConfigError naming the first bad variable. */
export function parseEnv(env: Record<string, string | undefined> = process.env): SenecaEnv {
  const parsed = envSchema.safeParse(env)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const variable = String(issue.path[0] ?? '(environment)')
  throw new ConfigError(variable, issue.message, env[variable])
}

/** Every problem with the environment, one line each (for `seneca doctor`). */
export function checkEnv(env: Record<string, string | undefined> = process.env): string[] {
  const parsed = envSchema.safeParse(env)
  if (parsed.success) return []
  return parsed.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(environment)')
    return new ConfigError(variable, issue.message, env[variable]).message
  })
}

export type SenecaConfig = ReturnType<typeof readConfig>

export function readConfig(env: Record<string, string | undefined> = process.env) {
  const e = parseEnv(env)
  const dataDir = resolve(e.SENECA_DATA_DIR || './data')
  return {
    dataDir,
    /** SQLite's page cache of the server's connection, in MB (memory it may hold on top of the heap). */
    sqliteCacheMb: e.SENECA_SQLITE_CACHE_MB,
    marcusRoot: e.MARCUS_ROOT,
    marcusLogDir: e.MARCUS_LOG_DIR,
    marcusMcpUrl: e.MARCUS_MCP_URL,
    /** Marcus's token ledger (costs.db), imported and followed every `marcusCostsPollMs`. */
    marcusCostsDb: e.MARCUS_COSTS_DB,
    marcusCostsPollMs: e.SENECA_MARCUS_COSTS_POLL_MS,
    redisUrl: e.REDIS_URL,
    /** How often the log tailer looks for new lines and files. */
    marcusPollMs: e.SENECA_MARCUS_POLL_MS,
    /** The Marcus MCP connector: poll interval, per-call timeout, circuit-breaker reset and reconnect backoff. */
    marcusMcp: {
      pollMs: e.SENECA_MARCUS_MCP_POLL_MS,
      timeoutMs: e.SENECA_MARCUS_MCP_TIMEOUT_MS,
      resetMs: e.SENECA_MARCUS_MCP_RESET_MS,
      reconnectMinMs: e.SENECA_MARCUS_MCP_RECONNECT_MIN_MS,
      reconnectMaxMs: e.SENECA_MARCUS_MCP_RECONNECT_MAX_MS,
      /** Shown to Marcus as `seneca-<instance>` when authenticating. */
      instance: e.SENECA_INSTANCE_ID,
    },
    /** A conversation with no message for this long is `idle` rather than `active`. */
    conversationIdleMs: e.SENECA_CONVERSATION_IDLE_MS,
    /** Agents that send heartbeats are unavailable after this long without one. */
    heartbeatTimeoutMs: e.SENECA_HEARTBEAT_TIMEOUT_MS,
    /** Agents known only by their activity (Marcus workers) are unavailable after this long silent. */
    activityTimeoutMs: e.SENECA_ACTIVITY_TIMEOUT_MS,
    degradedResponseMs: e.SENECA_DEGRADED_RESPONSE_MS,
    degradedErrorRate: e.SENECA_DEGRADED_ERROR_RATE,
    healthIntervalMs: e.SENECA_HEALTH_INTERVAL_MS,
    /** Unacknowledged agent commands expire after this long. */
    commandTtlMs: e.SENECA_COMMAND_TTL_MS,
    /** Namespace of every Redis key (cache, cache generations, rate-limit counters), so instances of one deployment share them and others do not. */
    redisPrefix: e.SENECA_REDIS_PREFIX,
    rateLimits: {
      enabled: e.SENECA_RATE_LIMITS === 'on',
      perMinute: e.SENECA_RATE_LIMIT_PER_MINUTE,
      perHour: e.SENECA_RATE_LIMIT_PER_HOUR,
      /** Ingest is priced in events, not requests: a 5,000-event batch costs 5,000. */
      ingestEventsPerMinute: e.SENECA_INGEST_EVENTS_PER_MINUTE,
    },
    /** Take the client address from X-Forwarded-For (only behind a proxy that sets it): anonymous rate limits key on it. */
    trustProxy: ['1', 'true'].includes(e.SENECA_TRUST_PROXY),
    /** Origins allowed to call the API from a browser; none means same-origin only (no CORS headers). */
    corsOrigins: e.SENECA_CORS_ORIGINS,
    logLevel: e.SENECA_LOG_LEVEL,
    /** When set, GET /metrics wants `Authorization: Bearer <token>`. */
    metricsToken: e.SENECA_METRICS_TOKEN,
    /**
     * `SENECA_GATEWAY=off`: no authentication, rate limits, request metrics or request logs —
     * for measuring the gateway's own cost only; refused unless the server listens on loopback.
     */
    gatewayOff: e.SENECA_GATEWAY === 'off',
    /** Where the built server listens (Nitro reads the same variables). */
    host: e.NITRO_HOST || e.HOST || '',
    port: env.PORT ? e.PORT : e.NITRO_PORT,
    notifications: {
      retryDelaysMs: e.SENECA_NOTIFY_RETRY_DELAYS_MS,
      timeoutMs: e.SENECA_NOTIFY_TIMEOUT_MS,
      smtpUrl: e.SENECA_SMTP_URL,
      smtpFrom: e.SENECA_SMTP_FROM ?? 'seneca@localhost',
    },
    /**
     * How long each kind of data is kept (ms; 0 = forever). Hourly rollups are never deleted,
     * so analytics still answer for periods whose messages are gone.
     */
    retention: {
      messagesMs: e.SENECA_RETENTION_MESSAGES,
      eventsMs: e.SENECA_RETENTION_EVENTS,
      costEventsMs: e.SENECA_RETENTION_COST_EVENTS,
      intervalMs: e.SENECA_RETENTION_INTERVAL_MS,
      /** Rows per delete statement: each batch is its own short transaction. */
      batchSize: e.SENECA_RETENTION_BATCH,
    },
    maintenance: {
      /** 0 = never (SQLite's automatic checkpoints only). */
      checkpointIntervalMs: e.SENECA_CHECKPOINT_INTERVAL_MS,
      optimizeIntervalMs: e.SENECA_OPTIMIZE_INTERVAL_MS,
      vacuum: e.SENECA_VACUUM,
    },
    backupDir: resolve(dataDir, e.SENECA_BACKUP_DIR || 'backups'),
    /** node-cluster preset: workers to fork (0: one per core). */
    clusterWorkers: e.NITRO_CLUSTER_WORKERS,
    /** How long the Marcus connector's leader lock lives without renewal. */
    leaderTtlMs: e.SENECA_LEADER_TTL_MS,
    /** SIGTERM: the longest a graceful shutdown may take. */
    shutdownTimeoutMs: e.SENECA_SHUTDOWN_TIMEOUT_MS,
    /** A realtime resume may replay this many events; retention never deletes the newest this many. */
    realtimeReplayMax: e.SENECA_WS_REPLAY_MAX,
  }
}

let config: SenecaConfig | undefined

export function useConfig(): SenecaConfig {
  config ??= readConfig()
  return config
}

/** Lets tests run with a configuration of their own (undefined: read the environment again). */
export function setConfig(value: SenecaConfig | undefined) {
  config = value
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host)
}
