import { INSIGHT_EVENT_KINDS, scheduleInsights, stopInsights } from '../insights/rollups'

/** Keeps the insight rollups (memory, patterns, predictions) caught up with the event log, in batches after commit. */
export default defineNitroPlugin((nitroApp) => {
  scheduleInsights(0)
  const off = onStoredEvents((events) => {
    if (events.some(e => INSIGHT_EVENT_KINDS.has(e.kind))) scheduleInsights()
  })
  nitroApp.hooks.hook('close', () => {
    off()
    stopInsights()
  })
})
