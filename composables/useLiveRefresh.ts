/**
 * Refetch a section when a live event concerns it: `refresh` runs at most once per `everyMs`
 * (the last event of a burst is never lost), and after a gap the server could not replay.
 *
 *   useLiveRefresh(['tasks', 'projects'], refresh, e => e.data.project_id === props.projectId)
 */
import { useThrottleFn } from '@vueuse/core'
import type { AnyLogEvent } from '~/stores/realtime'
import type { RealtimeChannel } from '~~/shared/realtime'

export function useLiveRefresh(channels: RealtimeChannel[], refresh: () => unknown, concerns: (e: AnyLogEvent) => boolean = () => true, everyMs = 2000) {
  const throttled = useThrottleFn(() => {
    void refresh()
  }, everyMs, true)
  for (const channel of channels) {
    useRealtimeChannel(channel, (e) => {
      if (concerns(e)) void throttled()
    })
  }
  useRealtimeResync(() => {
    void refresh()
  })
}
