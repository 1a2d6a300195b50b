/**
 * Starts the realtime hub: stored events reach it from the ingest path after each commit,
 * and its heartbeat pings WebSocket clients and drops dead ones. Every realtime connection
 * is closed (1001) when the server stops.
 */
import { onStoredEvents } from '../utils/event-bus'
import { useRealtimeHub } from '../utils/realtime'

export default defineNitroPlugin((nitroApp) => {
  const hub = useRealtimeHub()
  const off = onStoredEvents(events => hub.publish(events))
  hub.start()
  nitroApp.hooks.hook('close', () => {
    off()
    hub.stop()
  })
})
