/** Keeps the full-text index caught up with ingested messages, in batches after commit. */
export default defineNitroPlugin((nitroApp) => {
  scheduleIndexing(0)
  const off = onStoredEvents((events) => {
    if (events.some(e => e.kind === 'message')) scheduleIndexing()
  })
  nitroApp.hooks.hook('close', () => {
    off()
    stopIndexing()
  })
})
