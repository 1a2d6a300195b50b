/**
 * Database upkeep on timers (server/utils/maintenance.ts): retention and vacuum every
 * SENECA_RETENTION_INTERVAL_MS (first pass shortly after start), `wal_checkpoint(TRUNCATE)`
 * every SENECA_CHECKPOINT_INTERVAL_MS, `PRAGMA optimize` every SENECA_OPTIMIZE_INTERVAL_MS.
 * On the leader only when several processes share the database: one pass is enough for all.
 * Timers are unref'd so they never keep a stopping process alive.
 */
import { runAsLeader } from '../utils/cluster'
import { useConfig } from '../utils/config'
import { useDatabase } from '../utils/db'
import { useLogger } from '../utils/logger'
import { cancelMaintenance, checkpoint, isCancelled, optimize, prepareVacuumMode, runMaintenance } from '../utils/maintenance'

const FIRST_PASS_DELAY_MS = 15_000

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  const logger = useLogger()

  const stop = runAsLeader('database maintenance', () => {
    const { sqlite } = useDatabase()
    if (prepareVacuumMode(sqlite, config.maintenance.vacuum)) logger.info('database switched to auto_vacuum=INCREMENTAL (one full VACUUM)')
    const timers: NodeJS.Timeout[] = []
    const every = (ms: number, task: () => unknown, firstMs = ms) => {
      if (ms <= 0) return
      const run = () => {
        try {
          const result = task()
          if (result instanceof Promise) {
            result.catch(error => (isCancelled(error) ? logger.info('database maintenance stopped: the server is stopping') : logger.error({ err: error }, 'database maintenance failed')))
          }
        }
        catch (error) {
          logger.error({ err: error }, 'database maintenance failed')
        }
      }
      const first = setTimeout(() => {
        run()
        const repeat = setInterval(run, ms)
        repeat.unref()
        timers.push(repeat)
      }, firstMs)
      first.unref()
      timers.push(first)
    }

    every(config.retention.intervalMs, async () => {
      const report = await runMaintenance()
      const deleted = report.deleted.messages + report.deleted.events + report.deleted.cost_events
      logger[deleted ? 'info' : 'debug']({ deleted: report.deleted, duration_ms: report.duration_ms, database_bytes: report.database_bytes }, 'retention pass')
    }, Math.min(FIRST_PASS_DELAY_MS, config.retention.intervalMs))
    every(config.maintenance.checkpointIntervalMs, () => checkpoint(sqlite))
    every(config.maintenance.optimizeIntervalMs, () => optimize(sqlite))
    return () => {
      for (const t of timers) clearTimeout(t)
      cancelMaintenance()
    }
  })
  nitroApp.hooks.hook('close', () => stop())
})
