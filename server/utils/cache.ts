/**
 * The response cache (unstorage): expensive reads — analytics — are kept for at most
 * CACHE_TTL_S under a key made of the request, the caller's scope and the *generations* of
 * the projects the answer depends on.
 *
 * Invalidation: every ingest commit bumps the generation of each project it touched and the
 * global one (`all`, which answers over every project depend on). A read first fetches the
 * generations, so after a bump the old entries are simply never asked for again and expire.
 * A write request's response waits until its bumps have landed (`settleInvalidations`), so a
 * client told "stored" can never read an answer older than its own write — on any instance,
 * because with Redis the generations live in Redis (INCR) next to the entries.
 *
 * Redis trouble never makes a request wait: commands fail fast (no offline queue, a command
 * timeout), and while Redis is not ready reads are computed uncached. A bump that could not be
 * written leaves this instance "dirty": it reads uncached until Redis is back and it has bumped
 * the `epoch` generation, which every key includes, invalidating everything written before.
 */
import { createHash } from 'node:crypto'
import type { Redis, RedisOptions } from 'ioredis'
import { createStorage, defineDriver, type Storage } from 'unstorage'
import { observeCache } from './metrics'

/** Upper bound of a cached answer's age (the seed caches analytics for a minute). */
export const CACHE_TTL_S = 60

// ---------------------------------------------------------------------------------------
// An in-process driver

type MemoryEntry = { value: unknown, expires: number }

/**
 * unstorage's `memory` driver keeps entries forever and without bound (every distinct query
 * would stay); this one honours the TTL given to setItem and holds at most `maxEntries`,
 * dropping the oldest first.
 */
export const boundedMemoryDriver = defineDriver((options: { maxEntries?: number } = {}) => {
  const maxEntries = options.maxEntries ?? 5000
  const entries = new Map<string, MemoryEntry>()
  const live = (key: string): MemoryEntry | undefined => {
    const entry = entries.get(key)
    if (entry && entry.expires <= Date.now()) {
      entries.delete(key)
      return undefined
    }
    return entry
  }
  const set = (key: string, value: unknown, ttl?: number) => {
    entries.delete(key)
    entries.set(key, { value, expires: ttl ? Date.now() + ttl * 1000 : Number.POSITIVE_INFINITY })
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
  }
  return {
    name: 'bounded-memory',
    options,
    getInstance: () => entries,
    hasItem: key => live(key) !== undefined,
    getItem: key => live(key)?.value ?? null,
    getItemRaw: key => live(key)?.value ?? null,
    setItem: (key, value, opts) => set(key, value, opts?.ttl),
    setItemRaw: (key, value, opts) => set(key, value, opts?.ttl),
    removeItem: (key) => {
      entries.delete(key)
    },
    getKeys: () => [...entries.keys()].filter(k => live(k) !== undefined),
    clear: () => entries.clear(),
    dispose: () => entries.clear(),
  }
})

// ---------------------------------------------------------------------------------------
// Redis

/**
 * ioredis options for every Redis use (cache, generations, rate limits). With the defaults a
 * request hangs while Redis is down (STACK-NOTES); these make each command fail within
 * ~0.5 s instead, and keep reconnecting in the background.
 */
export function redisOptions(): RedisOptions {
  return {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: 500,
    retryStrategy: times => Math.min(100 * times, 2000),
    // Commands issued in the same tick (two rate-limit windows, generations then entry, many
    // concurrent requests) go out in one write.
    enableAutoPipelining: true,
  }
}

// ---------------------------------------------------------------------------------------
// The backend the plugin installs

type Backend
  /** Not configured (unit tests, scripts): every read is computed; nothing to invalidate. */
  = | { kind: 'off' }
    | { kind: 'memory', storage: Storage }
    | { kind: 'redis', storage: Storage, redis: Redis, prefix: string }

let backend: Backend = { kind: 'off' }
/** In-process generations (memory backend). */
const localGenerations = new Map<string, number>()
/** Redis bumps not yet acknowledged; write responses wait for them. */
const pending = new Set<Promise<void>>()
/** A bump was lost while Redis was unreachable: read uncached until the epoch is bumped. */
let dirty = false
let lastRedisError: string | undefined

/** In-process cache: `storage` defaults to a fresh bounded memory store. */
export function configureMemoryCache(storage: Storage = createStorage({ driver: boundedMemoryDriver({ maxEntries: 5000 }) })) {
  backend = { kind: 'memory', storage }
  localGenerations.clear()
}

/**
 * `storage` must be backed by `redis` (the unstorage redis driver's own client). `prefix`
 * namespaces the generation keys, like the driver's `base` does for entries.
 */
export function configureRedisCache(storage: Storage, redis: Redis, prefix: string) {
  backend = { kind: 'redis', storage, redis, prefix }
  dirty = false
  redis.on('error', (error: Error) => {
    lastRedisError = error.message || error.name
  })
  redis.on('ready', () => {
    lastRedisError = undefined
    if (dirty) void recover()
  })
}

/** Back to "not configured" (tests). */
export function resetCache() {
  backend = { kind: 'off' }
  localGenerations.clear()
  pending.clear()
  dirty = false
}

export function cacheKind(): Backend['kind'] {
  return backend.kind
}

/** For /health: `memory`, `redis`, or `redis: unavailable (…)`. The cache is optional, so this never fails the check. */
export function cacheStatus(): string {
  if (backend.kind !== 'redis') return 'memory'
  const { redis } = backend
  if (redis.status !== 'ready') return `redis: unavailable (${lastRedisError ?? redis.status}); serving uncached`
  if (dirty) return 'redis: recovering (invalidations lost while unavailable); serving uncached'
  return 'redis'
}

// ---------------------------------------------------------------------------------------
// Generations

const ALL = 'all'
const EPOCH = 'epoch'

/**
 * Marks every cached answer that depends on these projects as outdated. Called after each
 * ingest commit with the projects it touched (and the answers over every project, always).
 */
export function bumpGenerations(projects: Iterable<string>) {
  const b = backend
  if (b.kind === 'off') return
  const names = [ALL, ...new Set(projects)].map(p => (p === ALL ? ALL : `p:${p}`))
  if (b.kind === 'memory') {
    for (const name of names) localGenerations.set(name, (localGenerations.get(name) ?? 0) + 1)
    return
  }
  const multi = b.redis.multi()
  for (const name of names) multi.incr(`${b.prefix}:gen:${name}`)
  const done: Promise<void> = multi.exec()
    .then((results) => {
      if (!results || results.some(([error]) => error)) throw new Error('INCR failed')
    })
    .catch(() => {
      dirty = true
    })
    .finally(() => pending.delete(done))
  pending.add(done)
}

/** Waits (at most ~1 s) until this instance's bumps are in Redis or known to be lost. */
export async function settleInvalidations(): Promise<void> {
  if (pending.size === 0) return
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all([...pending]),
    new Promise<void>((ok) => {
      timer = setTimeout(() => {
        dirty = true
        ok()
      }, 1000)
    }),
  ])
  clearTimeout(timer)
}

export function hasPendingInvalidations(): boolean {
  return pending.size > 0
}

async function recover() {
  if (backend.kind !== 'redis') return
  try {
    await backend.redis.incr(`${backend.prefix}:gen:${EPOCH}`)
    dirty = false
  }
  catch { /* still unavailable; the next 'ready' tries again */ }
}

/** The generations a key depends on, or null when the cache cannot be trusted now. */
async function generations(b: Exclude<Backend, { kind: 'off' }>, projects: string[] | null): Promise<string | null> {
  const names = projects === null ? [ALL] : [...new Set(projects)].sort().map(p => `p:${p}`)
  if (b.kind === 'memory') return names.map(n => localGenerations.get(n) ?? 0).join('.')
  if (dirty || b.redis.status !== 'ready') return null
  const values = await b.redis.mget([EPOCH, ...names].map(n => `${b.prefix}:gen:${n}`))
  return values.map(v => v ?? '0').join('.')
}

// ---------------------------------------------------------------------------------------
// Read-through

export type Computed<T> = {
  value: T
  /** How long the value stays true without any write (e.g. until an active conversation turns idle); CACHE_TTL_S at most. */
  maxAgeSeconds?: number
}

export type CachedRead<T> = {
  /** The cache's name: the key namespace and the metric label. */
  name: string
  /** Everything the answer depends on besides the stored data: the query and the caller's scope. */
  key: unknown
  /** The projects whose data the answer reads; null: every project. */
  projects: string[] | null
  compute: () => Computed<T>
}

/**
 * The cached answer for `read.key`, or a freshly computed one (then stored, without making
 * the caller wait for the write). Never throws for cache trouble: it computes instead.
 */
export async function cachedRead<T>(read: CachedRead<T>): Promise<T> {
  const b = backend
  if (b.kind === 'off') return read.compute().value
  let key: string
  try {
    const gens = await generations(b, read.projects)
    if (gens === null) {
      observeCache(read.name, 'bypass')
      return read.compute().value
    }
    const hash = createHash('sha1').update(JSON.stringify([read.key, read.projects, gens])).digest('base64url')
    key = `${read.name}:${hash}`
    const hit = await b.storage.getItem<T>(key)
    if (hit !== null) {
      observeCache(read.name, 'hit')
      return hit
    }
  }
  catch {
    observeCache(read.name, 'error')
    return read.compute().value
  }
  observeCache(read.name, 'miss')
  const { value, maxAgeSeconds } = read.compute()
  const ttl = Math.floor(Math.min(CACHE_TTL_S, maxAgeSeconds ?? CACHE_TTL_S))
  if (ttl >= 1) b.storage.setItem(key, value as never, { ttl }).catch(() => { /* the next read computes again */ })
  return value
}
