/**
 * Starts the Marcus log connector when MARCUS_ROOT or MARCUS_LOG_DIR is set: backfill, then
 * follow new lines and files. Reports itself in /health.
 */
import { resolve } from 'node:path'
import { marcusLogTailer, startMarcusLogConnector, stopMarcusConnectors } from '../marcus'
import { FALLBACK_PROJECT } from '../marcus/mapping'
import { LegacyPipelineImporter } from '../marcus/pipelines'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  if (!config.marcusRoot && !config.marcusLogDir) return
  startMarcusLogConnector({ root: config.marcusRoot, logDir: config.marcusLogDir, pollMs: config.marcusPollMs })
  registerHealthCheck('marcus_logs', () => {
    const stats = marcusLogTailer()?.getStats()
    if (!stats) return 'stopped'
    return stats.caught_up ? 'following' : 'backfilling'
  })
  // The legacy logs/pipeline_events.json, read again whenever it changes.
  const logsRoot = config.marcusLogDir ? resolve(config.marcusLogDir, '..') : resolve(config.marcusRoot!, 'logs')
  const legacy = new LegacyPipelineImporter(logsRoot, () => marcusLogTailer()?.getStats().project_id ?? FALLBACK_PROJECT)
  legacy.start(Math.max(config.marcusPollMs * 4, 1000))
  nitroApp.hooks.hook('close', () => {
    legacy.stop()
    stopMarcusConnectors()
  })
})
