/**
 * With REDIS_URL, this process may share the database with others (the node-cluster preset's
 * workers, instances on one data directory): every committed event reaches every process's
 * listeners once and in seq order, and singleton jobs run on the leader only
 * (server/utils/cluster.ts). Without Redis the process is alone; a node-cluster worker without
 * it refuses to start rather than split state silently.
 */
import cluster from 'node:cluster'
import { Redis } from 'ioredis'
import { forwardCommandToMarcus } from '../marcus/mcp'
import type { AgentCommand } from '../../shared/events'
import { redisOptions } from '../utils/cache'
import { CLUSTER_NEEDS_REDIS, Coordinator, EventFeed, isLeader, leaderHealth } from '../utils/cluster'
import { useDatabase } from '../utils/db'
import { deliverStoredEvents, onStoredEvents, setEventSequencer } from '../utils/event-bus'
import { useLogger } from '../utils/logger'
import { realtimeMode, setRealtimeMode } from '../utils/realtime'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  if (!config.redisUrl) {
    if (cluster.isWorker) {
      console.error(`[seneca] cannot start: ${CLUSTER_NEEDS_REDIS}`)
      process.exit(78)
    }
    registerHealthCheck('cluster', () => 'single process')
    return
  }
  const logger = useLogger()
  const feed = new EventFeed(useDatabase().sqlite, deliverStoredEvents)
  const redis = new Redis(config.redisUrl, { ...redisOptions(), commandTimeout: 2000 })
  // Subscriptions are queued until connected and restored after a reconnect.
  const subscriber = new Redis(config.redisUrl, { ...redisOptions(), enableOfflineQueue: true, commandTimeout: undefined, enableAutoPipelining: false })
  redis.on('error', () => { /* reported by the coordinator and the storage plugin */ })
  subscriber.on('error', () => { /* the poll covers for it */ })
  const coordinator = new Coordinator({
    redis, subscriber, prefix: config.redisPrefix, feed,
    lockTtlMs: config.leaderTtlMs,
    onMode: mode => setRealtimeMode(mode === 'live' ? 'live' : 'historical'),
    log: (message, details) => logger.info({ ...details }, message),
  })
  setEventSequencer((events) => {
    feed.committed(events)
    coordinator.notify(events.at(-1)!.seq)
  })
  // Followers take the realtime mode from the leader, whose Marcus connection decides it.
  leaderHealth('mode', () => realtimeMode())
  coordinator.start()
  registerHealthCheck('cluster', () => coordinator.role())

  // The Marcus connection lives on the leader: commands issued through other processes reach it here.
  const off = onStoredEvents((events) => {
    if (!isLeader()) return
    for (const e of events) {
      if (!e.remote || e.kind !== 'command.issued') continue
      const p = e.payload as { command_id?: string, agent_id?: string, command?: string, parameters?: Record<string, unknown> }
      if (!p.command_id || !p.agent_id || !p.command) continue
      forwardCommandToMarcus({ command_id: p.command_id, agent_id: p.agent_id, command: p.command as AgentCommand, parameters: p.parameters })
    }
  })

  nitroApp.hooks.hook('close', async () => {
    off()
    await coordinator.stop()
    setEventSequencer(undefined)
    subscriber.disconnect()
    await redis.quit().catch(() => redis.disconnect())
  })
})
