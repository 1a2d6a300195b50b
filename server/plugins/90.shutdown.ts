/**
 * Graceful shutdown on SIGTERM and SIGINT (server/utils/shutdown.ts). Replaces Nitro's own
 * handler, which cuts WebSocket connections before the server could tell them to reconnect:
 * its switch, NITRO_SHUTDOWN_DISABLED, is read only after the plugins have run. Counts the
 * requests in flight so the drain knows when they are done.
 */
import type { Server } from 'node:http'
import { flushLogger, useLogger } from '../utils/logger'
import { noteServer, requestStarted, shutdown } from '../utils/shutdown'

export default defineNitroPlugin((nitroApp) => {
  if (import.meta.dev) return
  process.env.NITRO_SHUTDOWN_DISABLED = '1'
  const logger = useLogger()

  nitroApp.hooks.hook('request', (event) => {
    const req = event.node.req
    noteServer((req.socket as unknown as { server?: Server }).server)
    const done = requestStarted()
    event.node.res.once('close', done)
  })

  const onSignal = (signal: NodeJS.Signals) => {
    void shutdown(signal, {
      close: async () => {
        await nitroApp.hooks.callHook('close')
        flushLogger()
      },
      log: (message, details) => logger.info({ ...details }, message),
    })
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
})
