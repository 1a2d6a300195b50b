/**
 * Imports Marcus's token ledger when MARCUS_COSTS_DB names it (a `costs.db`): everything new
 * at start, then new rows every SENECA_MARCUS_COSTS_POLL_MS (default 5 s). Reports itself in
 * /health as `marcus_costs`.
 */
import { marcusCostsImporter, startMarcusCostsImporter, stopMarcusCostsImporter } from '../marcus/costs'

export default defineNitroPlugin((nitroApp) => {
  // Read here until the configuration schema names these two variables.
  const path = process.env.MARCUS_COSTS_DB
  if (!path) return
  const pollMs = Number(process.env.SENECA_MARCUS_COSTS_POLL_MS || 5000)
  startMarcusCostsImporter(path, { pollMs: Number.isFinite(pollMs) && pollMs >= 10 ? pollMs : 5000 })
  registerHealthCheck('marcus_costs', () => marcusCostsImporter()?.getStats().state ?? 'stopped')
  nitroApp.hooks.hook('close', () => stopMarcusCostsImporter())
})
