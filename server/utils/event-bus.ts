/**
 * In-process hand-off from the ingest path to whoever reacts to stored events
 * (the realtime hub, monitors). Called after the transaction commits, in seq order.
 */
export type StoredEvent = {
  seq: number
  id: string
  kind: string
  projectId: string
  ts: number
  receivedAt: number
  source: string
  payload: Record<string, unknown>
  /** What the projections derived (e.g. the stored message), for the realtime hub. */
  derived?: Record<string, unknown>
}

type Listener = (events: StoredEvent[]) => void

const listeners = new Set<Listener>()

export function onStoredEvents(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function publishStoredEvents(events: StoredEvent[]) {
  if (events.length === 0) return
  for (const listener of listeners) {
    try {
      listener(events)
    }
    catch (error) {
      console.error('[seneca] event listener failed', error)
    }
  }
}
