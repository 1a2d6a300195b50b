/**
 * Starts the Marcus log connector when MARCUS_ROOT or MARCUS_LOG_DIR is set: backfill, then
 * follow new lines and files. Reports itself in /health. With several processes, only the
 * leader reads the logs (server/utils/cluster.ts), so each line is ingested once.
 */
import { resolve } from 'node:path'
import { marcusLogTailer, startMarcusLogConnector, stopMarcusConnectors } from '../marcus'
import { FALLBACK_PROJECT } from '../marcus/mapping'
import { LegacyPipelineImporter } from '../marcus/pipelines'
import { leaderHealth, runAsLeader } from '../utils/cluster'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  if (!config.marcusRoot && !config.marcusLogDir) return
  const stop = runAsLeader('marcus log connector', () => {
    startMarcusLogConnector({ root: config.marcusRoot, logDir: config.marcusLogDir, pollMs: config.marcusPollMs })
    // The legacy logs/pipeline_events.json, read again whenever it changes.
    const logsRoot = config.marcusLogDir ? resolve(config.marcusLogDir, '..') : resolve(config.marcusRoot!, 'logs')
    const legacy = new LegacyPipelineImporter(logsRoot, () => marcusLogTailer()?.getStats().project_id ?? FALLBACK_PROJECT)
    legacy.start(Math.max(config.marcusPollMs * 4, 1000))
    return () => {
      legacy.stop()
      stopMarcusConnectors()
    }
  })
  registerHealthCheck('marcus_logs', leaderHealth('marcus_logs', () => {
    const stats = marcusLogTailer()?.getStats()
    if (!stats) return 'stopped'
    return stats.caught_up ? 'following' : 'backfilling'
  }))
  nitroApp.hooks.hook('close', () => stop())
})
