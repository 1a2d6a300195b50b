/**
 * Rate limits (rate-limiter-flexible): fixed windows counted per principal, or per client
 * address for anonymous requests, in memory or — with REDIS_URL — in Redis, so several
 * instances share the counts. If Redis fails, each instance counts in memory meanwhile
 * (the library's insurance limiter) rather than refusing or waiting.
 *
 * Policies and the per-route overrides are the two tables below. A route that matches an
 * override is counted in that policy instead of the default one. Ingest is priced in events:
 * its body is only known once read, so the middleware pre-checks the budget and
 * `readJsonBody` prices the parsed body through `event.context.bodyPricer`.
 */
import type { H3Event } from 'h3'
import { getQuery, getRequestHeader, getRequestIP, setResponseHeader } from 'h3'
import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import type { Principal } from './auth'
import { type SenecaConfig, useConfig } from './config'
import { apiError } from './errors'
import { observeRateLimitRejection } from './metrics'

export type RateWindow = { points: number, seconds: number }
export type RatePolicy = { name: string, unit: 'requests' | 'events', windows: RateWindow[] }

export function ratePolicies(config: SenecaConfig['rateLimits']): Record<string, RatePolicy> {
  return {
    default: { name: 'default', unit: 'requests', windows: [{ points: config.perMinute, seconds: 60 }, { points: config.perHour, seconds: 3600 }] },
    ingest: { name: 'ingest', unit: 'events', windows: [{ points: config.ingestEventsPerMinute, seconds: 60 }] },
    // Full-text search costs more than a page read: its own, smaller budget.
    search: { name: 'search', unit: 'requests', windows: [{ points: 60, seconds: 60 }, { points: 1000, seconds: 3600 }] },
    // Creating and revoking keys is rare; a burst of it is a script gone wrong or an attack.
    keys: { name: 'keys', unit: 'requests', windows: [{ points: 10, seconds: 60 }, { points: 100, seconds: 3600 }] },
  }
}

let policies: { config: SenecaConfig['rateLimits'], table: Record<string, RatePolicy> } | undefined

/** The policies for the running configuration (built once). */
export function usePolicies(): Record<string, RatePolicy> {
  const config = useConfig().rateLimits
  if (policies?.config !== config) policies = { config, table: ratePolicies(config) }
  return policies.table
}

/** Per-route overrides; the first match wins. Everything else under /api is `default`. */
export const routeOverrides: { policy: string, methods: string[], path: RegExp }[] = [
  { policy: 'ingest', methods: ['POST'], path: /^\/api\/ingest\/?$/ },
  { policy: 'search', methods: ['GET', 'HEAD'], path: /^\/api\/conversations\/search\/?$/ },
  { policy: 'keys', methods: ['POST', 'DELETE'], path: /^\/api\/keys(\/|$)/ },
]

/** Not limited here: health (monitors poll it), and the WebSocket, which limits its own messages. */
const unlimited = [/^\/api\/health\/?$/, /^\/api\/ws\/?$/]

/** The policy of a request, or undefined when the path is not rate limited. */
export function policyFor(method: string, path: string): string | undefined {
  if (!path.startsWith('/api') || unlimited.some(r => r.test(path))) return undefined
  return routeOverrides.find(o => o.methods.includes(method) && o.path.test(path))?.policy ?? 'default'
}

// ---------------------------------------------------------------------------------------
// Limiters

type Limiter = RateLimiterMemory | RateLimiterRedis

let store: { redis: Redis, prefix: string } | undefined
const limiters = new Map<string, Limiter>()

/** Counts in Redis from now on (the storage plugin calls this when REDIS_URL is set). */
export function useRedisRateLimits(redis: Redis, prefix: string) {
  store = { redis, prefix }
  limiters.clear()
}

/** Back to in-memory counting with fresh counts (tests). */
export function resetRateLimits() {
  store = undefined
  limiters.clear()
  authBlocks.clear()
}

function limiterFor(policy: string, window: RateWindow): Limiter {
  const id = `${policy}:${window.seconds}:${window.points}`
  let limiter = limiters.get(id)
  if (!limiter) {
    const keyPrefix = `${store?.prefix ?? 'seneca'}:rl:${policy}:${window.seconds}`
    const options = { keyPrefix, points: window.points, duration: window.seconds }
    limiter = store
      ? new RateLimiterRedis({ ...options, storeClient: store.redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) })
      : new RateLimiterMemory(options)
    limiters.set(id, limiter)
  }
  return limiter
}

export type RateDecision = {
  allowed: boolean
  policy: RatePolicy
  /** The window closest to exhaustion (or the one that refused): what the headers describe. */
  limit: number
  windowSeconds: number
  remaining: number
  resetSeconds: number
}

type WindowState = { window: RateWindow, allowed: boolean, remaining: number, msBeforeNext: number }

function decide(policy: RatePolicy, states: WindowState[]): RateDecision {
  const refused = states.filter(s => !s.allowed).sort((a, b) => b.msBeforeNext - a.msBeforeNext)[0]
  const shown = refused ?? [...states].sort((a, b) => a.remaining - b.remaining || a.msBeforeNext - b.msBeforeNext)[0]!
  return {
    allowed: !refused,
    policy,
    limit: shown.window.points,
    windowSeconds: shown.window.seconds,
    remaining: shown.remaining,
    resetSeconds: Math.max(1, Math.ceil(shown.msBeforeNext / 1000)),
  }
}

/** Consumes `points` in every window of the policy. A limiter error lets the request through (fail open). */
export async function consume(policy: RatePolicy, key: string, points = 1): Promise<RateDecision> {
  const states = await Promise.all(policy.windows.map(async (window): Promise<WindowState> => {
    try {
      const res = await limiterFor(policy.name, window).consume(key, points)
      return { window, allowed: true, remaining: res.remainingPoints, msBeforeNext: res.msBeforeNext }
    }
    catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        // A refused event batch is refunded below, so what is left is what was left before it.
        const spent = rejection.consumedPoints - (policy.unit === 'events' ? points : 0)
        return { window, allowed: false, remaining: Math.max(0, window.points - spent), msBeforeNext: rejection.msBeforeNext }
      }
      return { window, allowed: true, remaining: window.points, msBeforeNext: window.seconds * 1000 }
    }
  }))
  const decision = decide(policy, states)
  // A budget priced by size: a refused batch was not accepted, so it costs nothing.
  if (!decision.allowed && policy.unit === 'events') {
    await Promise.all(policy.windows.map(w => limiterFor(policy.name, w).reward(key, points).catch(() => undefined)))
  }
  return decision
}

/** The state of the budget without spending any (the ingest pre-check). */
export async function peek(policy: RatePolicy, key: string): Promise<RateDecision> {
  const states = await Promise.all(policy.windows.map(async (window): Promise<WindowState> => {
    const res = await limiterFor(policy.name, window).get(key).catch(() => null)
    if (!res) return { window, allowed: true, remaining: window.points, msBeforeNext: window.seconds * 1000 }
    const remaining = Math.max(0, window.points - res.consumedPoints)
    return { window, allowed: remaining > 0, remaining, msBeforeNext: res.msBeforeNext }
  }))
  return decide(policy, states)
}

// ---------------------------------------------------------------------------------------
// HTTP

/** Who is counted: the principal, or the client address when there is none. */
export function rateLimitKey(event: H3Event): string {
  const principal = event.context.principal as Principal | undefined
  return principal ? principal.id : `ip:${clientAddress(event)}`
}

export function clientAddress(event: H3Event): string {
  return getRequestIP(event, { xForwardedFor: useConfig().trustProxy }) ?? 'unknown'
}

/** The IETF RateLimit headers (draft 7 spelling), on every limited response. */
export function setRateLimitHeaders(event: H3Event, decision: RateDecision) {
  setResponseHeader(event, 'RateLimit-Limit', String(decision.limit))
  setResponseHeader(event, 'RateLimit-Remaining', String(decision.remaining))
  setResponseHeader(event, 'RateLimit-Reset', String(decision.resetSeconds))
  setResponseHeader(event, 'RateLimit-Policy', decision.policy.windows.map(w => `${w.points};w=${w.seconds}`).join(', '))
}

/** 429 RATE_LIMITED with Retry-After; the RateLimit headers are already set. */
export function rateLimited(event: H3Event, decision: RateDecision, asked = 1) {
  observeRateLimitRejection(decision.policy.name)
  setResponseHeader(event, 'Retry-After', decision.resetSeconds)
  const unit = decision.policy.unit
  const per = decision.windowSeconds === 60 ? 'minute' : decision.windowSeconds === 3600 ? 'hour' : `${decision.windowSeconds} s`
  const message = asked > decision.limit
    ? `This request costs ${asked} ${unit}, more than the whole budget of ${decision.limit} ${unit} per ${per}; send smaller batches`
    : `Rate limit exceeded: ${decision.limit} ${unit} per ${per}; retry in ${decision.resetSeconds} s`
  return apiError('RATE_LIMITED', message, {
    policy: decision.policy.name, limit: decision.limit, unit, window_seconds: decision.windowSeconds, retry_after_seconds: decision.resetSeconds,
    ...(asked > 1 ? { requested: asked } : {}),
  })
}

/** The number of units a parsed ingest body costs: its events (at least 1, so empty batches count too). */
export function ingestCost(body: unknown): number {
  const events = (body as { events?: unknown } | null)?.events
  return Array.isArray(events) ? Math.max(1, events.length) : 1
}

/** Prices a request by its parsed body; set on `event.context.bodyPricer` and called by readJsonBody. */
export type BodyPricer = (body: unknown) => Promise<void>

// ---------------------------------------------------------------------------------------
// Failed authentication

/**
 * Requests with a credential are counted per principal, after authentication; a credential
 * that fails to authenticate is counted against the client address instead (like an anonymous
 * request). Once that budget is spent, further bad credentials from the address get 429 rather
 * than 401 until the window resets — while a valid credential from the same address (another
 * user behind the same NAT) still gets through on its own budget.
 */
const authBlocks = new Map<string, number>()

export function hasCredential(event: H3Event): boolean {
  return Boolean(getRequestHeader(event, 'authorization') || getRequestHeader(event, 'x-api-key') || /[?&]token=/.test(event.path))
}

/** The credential as the auth middleware reads it (bearer header, X-API-Key, a stream's `token` query). */
export function credentialOf(event: H3Event): string | undefined {
  const bearer = getRequestHeader(event, 'authorization')?.match(/^Bearer\s+(.+)$/i)?.[1] ?? getRequestHeader(event, 'x-api-key')
  if (bearer) return bearer
  const token = getQuery(event).token
  return typeof token === 'string' ? token : undefined
}

/** Seconds until the address may try a credential again, or 0. */
export function authBlockedFor(address: string): number {
  const until = authBlocks.get(address)
  if (until === undefined) return 0
  const left = until - Date.now()
  if (left <= 0) {
    authBlocks.delete(address)
    return 0
  }
  return Math.ceil(left / 1000)
}

/** From now until the window resets, credentials from this address are checked before authentication. */
export function blockAddress(address: string, seconds: number) {
  // Bounded: a flood from many addresses must not grow this without limit.
  if (authBlocks.size > 100_000) authBlocks.clear()
  authBlocks.set(address, Date.now() + seconds * 1000)
}

export async function recordAuthFailure(address: string) {
  const decision = await consume(usePolicies().default!, `ip:${address}`)
  if (!decision.allowed) blockAddress(address, decision.resetSeconds)
}
