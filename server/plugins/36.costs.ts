/**
 * Costs at boot and after ingest: keeps the shipped model prices in the price table in step
 * with this release (re-costing the stored usage they apply to when they changed), and after
 * each commit with usage checks the budgets it concerns (outside the ingest transaction, as
 * the pipeline reactor does, so alerts and pause commands are ingested in order).
 */
import { syncBuiltinPrices } from '../utils/costs-admin'
import { checkBudgetsAfter } from '../utils/costs-budgets'
import { afterStoredEvents } from '../utils/event-bus'

export default defineNitroPlugin((nitroApp) => {
  try {
    const synced = syncBuiltinPrices()
    if (synced.changed) console.info(`[seneca] model prices: ${synced.changed} shipped prices updated, ${synced.events} usage events re-costed`)
  }
  catch (error) {
    console.error('[seneca] shipped model prices could not be updated', error)
  }
  // Another process's usage is checked by that process, so a crossing is raised once.
  const off = afterStoredEvents(events => events.filter(e => e.kind === 'cost.usage' && !e.remote), checkBudgetsAfter, 'budget check')
  nitroApp.hooks.hook('close', () => off())
})
