/**
 * Component-side helpers over the realtime store (stores/realtime.ts): listeners that start
 * when the component mounts and stop when it goes away.
 */
import { useRealtimeStore, type ChannelHandler } from '~/stores/realtime'
import type { RealtimeChannel } from '~~/shared/realtime'

export function useRealtime() {
  return useRealtimeStore()
}

/** Calls `handler` for every event of `channel` while the calling component is mounted. */
export function useRealtimeChannel(channel: RealtimeChannel, handler: ChannelHandler) {
  const store = useRealtimeStore()
  let off: (() => void) | undefined
  onMounted(() => {
    off = store.on(channel, handler)
  })
  onBeforeUnmount(() => off?.())
}

/**
 * Calls `handler` when the live feed has a gap the server could not replay (`resync_required`):
 * the section reloads over HTTP. Gaps from ordinary drops are replayed on resume.
 */
export function useRealtimeResync(handler: () => void) {
  const store = useRealtimeStore()
  let off: (() => void) | undefined
  onMounted(() => {
    off = store.onResync(handler)
  })
  onBeforeUnmount(() => off?.())
}
