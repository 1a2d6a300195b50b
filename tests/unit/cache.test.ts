/**
 * The response cache: a bounded, TTL-honouring memory store, keys by request and scope, and
 * invalidation by project generations bumped from the write path.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createStorage } from 'unstorage'
import { boundedMemoryDriver, bumpGenerations, CACHE_TTL_S, cachedRead, cacheStatus, configureMemoryCache, resetCache } from '../../server/utils/cache'

describe('bounded memory driver', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('forgets an entry when its TTL has passed', async () => {
    vi.useFakeTimers()
    const storage = createStorage({ driver: boundedMemoryDriver({}) })
    await storage.setItem('a', { n: 1 }, { ttl: 2 })
    await storage.setItem('b', { n: 2 })
    expect(await storage.getItem('a')).toEqual({ n: 1 })
    vi.advanceTimersByTime(2001)
    expect(await storage.getItem('a')).toBeNull()
    expect(await storage.getItem('b')).toEqual({ n: 2 })
    expect(await storage.getKeys()).toEqual(['b'])
  })

  it('holds at most maxEntries, dropping the oldest first', async () => {
    const storage = createStorage({ driver: boundedMemoryDriver({ maxEntries: 3 }) })
    for (const k of ['a', 'b', 'c', 'd']) await storage.setItem(k, k)
    expect(await storage.getKeys()).toEqual(['b', 'c', 'd'])
    // Re-setting a key makes it the newest.
    await storage.setItem('b', 'B')
    await storage.setItem('e', 'e')
    expect(await storage.getKeys()).toEqual(['d', 'b', 'e'])
  })
})

describe('cachedRead', () => {
  let computed = 0
  const read = (key: unknown, projects: string[] | null, value: unknown = 'v', maxAgeSeconds?: number) => cachedRead({
    name: 'test',
    key,
    projects,
    compute: () => {
      computed++
      return { value, maxAgeSeconds }
    },
  })

  beforeEach(() => {
    computed = 0
    configureMemoryCache()
  })
  afterEach(() => {
    resetCache()
    vi.useRealTimers()
  })

  it('computes every time when no cache is configured', async () => {
    resetCache()
    await read('k', ['a'])
    await read('k', ['a'])
    expect(computed).toBe(2)
  })

  it('answers the same key from the cache, another key or scope not', async () => {
    expect(await read({ q: 1 }, ['a'], { n: 1 })).toEqual({ n: 1 })
    expect(await read({ q: 1 }, ['a'], { n: 2 })).toEqual({ n: 1 })
    expect(computed).toBe(1)
    await read({ q: 2 }, ['a'])
    await read({ q: 1 }, ['b'])
    await read({ q: 1 }, null)
    expect(computed).toBe(4)
  })

  it('recomputes after a write to a project the answer depends on, not after others', async () => {
    await read('k', ['a'])
    await read('all', null)
    bumpGenerations(['b'])
    await read('k', ['a'])
    expect(computed).toBe(2)
    // Answers over every project depend on every write.
    await read('all', null)
    expect(computed).toBe(3)
    bumpGenerations(['a'])
    await read('k', ['a'])
    expect(computed).toBe(4)
  })

  it('keeps an answer no longer than its own max age, and CACHE_TTL_S at most', async () => {
    vi.useFakeTimers()
    // Whole seconds, rounded down (Redis TTLs are seconds): 5.9 s of validity keeps it 5 s.
    await read('short', ['a'], 'v', 5.9)
    vi.advanceTimersByTime(4900)
    await read('short', ['a'], 'v', 5.9)
    expect(computed).toBe(1)
    vi.advanceTimersByTime(100)
    await read('short', ['a'], 'v', 5.9)
    expect(computed).toBe(2)
    // Less than a second of validity: not cached at all.
    await read('instant', ['a'], 'v', 0.5)
    await read('instant', ['a'], 'v', 0.5)
    expect(computed).toBe(4)
    await read('long', ['a'], 'v', 3600)
    vi.advanceTimersByTime(CACHE_TTL_S * 1000 + 1)
    await read('long', ['a'], 'v', 3600)
    expect(computed).toBe(6)
  })

  it('says memory in /health', () => {
    expect(cacheStatus()).toBe('memory')
  })
})
