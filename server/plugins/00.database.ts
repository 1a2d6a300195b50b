/**
 * Opens the database and applies migrations at boot, so a broken data directory stops the
 * start with a clear reason instead of failing the first request. Closes it cleanly on exit.
 */
export default defineNitroPlugin((nitroApp) => {
  useDatabase()
  nitroApp.hooks.hook('close', () => closeDatabase())
})
