/**
 * Starts the Marcus log connector when MARCUS_ROOT or MARCUS_LOG_DIR is set: backfill, then
 * follow new lines and files. Reports itself in /health.
 */
import { marcusLogTailer, startMarcusLogConnector, stopMarcusConnectors } from '../marcus'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  if (!config.marcusRoot && !config.marcusLogDir) return
  startMarcusLogConnector({ root: config.marcusRoot, logDir: config.marcusLogDir, pollMs: config.marcusPollMs })
  registerHealthCheck('marcus_logs', () => {
    const stats = marcusLogTailer()?.getStats()
    if (!stats) return 'stopped'
    return stats.caught_up ? 'following' : 'backfilling'
  })
  nitroApp.hooks.hook('close', () => stopMarcusConnectors())
})
