/**
 * The response cache's store and the rate limits' counters: Redis when REDIS_URL is set (one
 * ioredis client, shared, with options that fail fast instead of hanging), otherwise in
 * process. Mounted here at run time because nitro.storage is frozen at build time.
 * Every ingest commit bumps the cache generations of the projects it touched; a write's
 * response waits for those bumps, so its client never reads an answer older than its write.
 */
import type { Redis } from 'ioredis'
import { prefixStorage } from 'unstorage'
import redisDriver from 'unstorage/drivers/redis'
import { boundedMemoryDriver, bumpGenerations, cacheStatus, configureMemoryCache, configureRedisCache, hasPendingInvalidations, redisOptions, settleInvalidations } from '../utils/cache'
import { onStoredEvents } from '../utils/event-bus'
import { useLogger } from '../utils/logger'
import { useRedisRateLimits } from '../utils/ratelimit'

const MOUNT = 'seneca-cache'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  const logger = useLogger()
  if (config.redisUrl) {
    const driver = redisDriver({ url: config.redisUrl, base: `${config.redisPrefix}:cache`, ...redisOptions() })
    useStorage().mount(MOUNT, driver)
    const redis = driver.getInstance!() as Redis
    configureRedisCache(prefixStorage(useStorage(), MOUNT), redis, config.redisPrefix)
    useRedisRateLimits(redis, config.redisPrefix)
    // State changes only, not every reconnect attempt.
    let available: boolean | undefined
    redis.on('ready', () => {
      if (available !== true) logger.info({ redis: redactUrl(config.redisUrl!) }, 'redis ready: shared cache and rate limits')
      available = true
    })
    redis.on('error', (error: Error) => {
      if (available !== false) logger.warn({ redis: redactUrl(config.redisUrl!), error: error.message }, 'redis unavailable: serving uncached, counting rate limits in memory')
      available = false
    })
    nitroApp.hooks.hook('close', async () => {
      await redis.quit().catch(() => redis.disconnect())
    })
  }
  else {
    useStorage().mount(MOUNT, boundedMemoryDriver({ maxEntries: 5000 }))
    configureMemoryCache(prefixStorage(useStorage(), MOUNT))
  }
  registerHealthCheck('cache', cacheStatus)

  const off = onStoredEvents((events) => {
    const projects = new Set<string>()
    // The process that stored an event bumps for it; with Redis the generations are shared.
    for (const e of events) if (!e.remote) projects.add(e.projectId)
    if (projects.size) bumpGenerations(projects)
  })
  nitroApp.hooks.hook('beforeResponse', async (event) => {
    if (event.method !== 'GET' && event.method !== 'HEAD' && hasPendingInvalidations()) await settleInvalidations()
  })
  nitroApp.hooks.hook('close', () => off())
})

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
