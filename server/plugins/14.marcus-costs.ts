/**
 * Imports Marcus's token ledger when MARCUS_COSTS_DB names it (a `costs.db`): everything new
 * at start, then new rows every SENECA_MARCUS_COSTS_POLL_MS (default 5 s). Reports itself in
 * /health as `marcus_costs`. With several processes, only the leader imports (server/utils/cluster.ts).
 */
import { marcusCostsImporter, startMarcusCostsImporter, stopMarcusCostsImporter } from '../marcus/costs'
import { leaderHealth, runAsLeader } from '../utils/cluster'

export default defineNitroPlugin((nitroApp) => {
  const { marcusCostsDb: path, marcusCostsPollMs: pollMs } = useConfig()
  if (!path) return
  const stop = runAsLeader('marcus costs importer', () => {
    startMarcusCostsImporter(path, { pollMs })
    return () => stopMarcusCostsImporter()
  })
  registerHealthCheck('marcus_costs', leaderHealth('marcus_costs', () => marcusCostsImporter()?.getStats().state ?? 'stopped'))
  nitroApp.hooks.hook('close', () => stop())
})
