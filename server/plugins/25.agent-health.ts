/**
 * The agent health monitor: every SENECA_HEALTH_INTERVAL_MS, marks silent agents
 * unavailable (re-queueing their tasks), degraded agents degraded, recovered ones back, and
 * expires unacknowledged commands. On the leader only when several processes share the database.
 */
import { runAsLeader } from '../utils/cluster'

export default defineNitroPlugin((nitroApp) => {
  const interval = useConfig().healthIntervalMs
  if (interval <= 0) return
  const stop = runAsLeader('agent health monitor', () => {
    const timer = setInterval(() => {
      try {
        checkAgentHealth()
        expireCommands()
      }
      catch (error) {
        console.error('[seneca] agent health check failed', error)
      }
    }, interval)
    timer.unref()
    return () => clearInterval(timer)
  })
  nitroApp.hooks.hook('close', () => stop())
})
