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
  /**
   * Stored by another process of the deployment (read back from the log, so no `derived`).
   * Listeners with side effects (notifications, follow-up ingests) leave these to the
   * process that stored them, so each happens once.
   */
  remote?: true
}

type Listener = (events: StoredEvent[]) => void

const listeners = new Set<Listener>()

export function onStoredEvents(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * Listens for stored events and reacts to them after the hand-off, not inside it: `select`
 * sees every delivery and returns the events to react to; they are gathered and `react`
 * gets them in one batch on the next turn
 * of the event loop, so a reaction that ingests (alerts, commands, next stages) does so in
 * seq order after every listener has seen the events that caused it.
 */
export function afterStoredEvents(select: (events: StoredEvent[]) => StoredEvent[], react: (batch: StoredEvent[]) => void, what: string): () => void {
  let pending: StoredEvent[] = []
  let scheduled = false
  return onStoredEvents((events) => {
    const chosen = select(events)
    if (!chosen.length) return
    pending.push(...chosen)
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      const batch = pending
      pending = []
      try {
        react(batch)
      }
      catch (error) {
        console.error(`[seneca] ${what} failed`, error)
      }
    })
  })
}

/**
 * With several processes on one database, a sequencer (server/utils/cluster.ts) sits between
 * commit and listeners: it first hands over what other processes stored before these events,
 * so listeners always see one gap-free seq order.
 */
type Sequencer = (events: StoredEvent[], deliver: (events: StoredEvent[]) => void) => void
let sequencer: Sequencer | undefined

export function setEventSequencer(next: Sequencer | undefined) {
  sequencer = next
}

export function publishStoredEvents(events: StoredEvent[]) {
  if (events.length === 0) return
  if (sequencer) sequencer(events, deliverStoredEvents)
  else deliverStoredEvents(events)
}

/** Straight to the listeners, in the order given (the sequencer's way out). */
export function deliverStoredEvents(events: StoredEvent[]) {
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

// ---------------------------------------------------------------------------------------
// Bulk imports (a connector catching up on a large backlog). Work that follows the event log
// by its own watermark (the insight rollups) waits for the end of the import instead of
// running between its batches, then catches up in large chunks: it still sees every event
// once and in seq order, and its readers catch it up before they read. Listeners of stored
// events are not affected.

let bulkImports = 0
const afterBulkImport = new Set<() => void>()

/** Marks a bulk import under way; the function returned ends it (calling it again does nothing). */
export function beginBulkImport(): () => void {
  bulkImports++
  let ended = false
  return () => {
    if (ended) return
    ended = true
    if (--bulkImports > 0) return
    const waiting = [...afterBulkImport]
    afterBulkImport.clear()
    for (const run of waiting) {
      try {
        run()
      }
      catch (error) {
        console.error('[seneca] work deferred during a bulk import failed', error)
      }
    }
  }
}

export function bulkImportUnderWay(): boolean {
  return bulkImports > 0
}

/** During a bulk import, keeps `run` for its end (once, however often asked) and returns true; otherwise false. */
export function deferDuringBulkImport(run: () => void): boolean {
  if (bulkImports === 0) return false
  afterBulkImport.add(run)
  return true
}
