/**
 * Starts the realtime hub: stored events reach it from the ingest path after each commit,
 * and its heartbeat pings WebSocket clients and drops dead ones. WebSocket clients may
 * negotiate permessage-deflate (see realtime-frames.ts). Every realtime connection
 * is closed (1001) when the server stops.
 */
import { onStoredEvents } from '../utils/event-bus'
import { useRealtimeHub } from '../utils/realtime'
import { websocketServerOptions } from '../utils/realtime-frames'

export default defineNitroPlugin((nitroApp) => {
  const hub = useRealtimeHub()
  // The `ws` server options crossws passes on (read once the plugins have run): permessage-deflate
  // negotiated for the shared compressed frames, and a bound on inbound messages.
  const app = nitroApp.h3App as unknown as { options: { websocket?: Record<string, unknown> } }
  app.options.websocket = { ...app.options.websocket, serverOptions: websocketServerOptions(hub.config.maxMessageBytes) }
  const off = onStoredEvents(events => hub.publish(events))
  hub.start()
  nitroApp.hooks.hook('close', () => {
    off()
    hub.stop()
  })
})
