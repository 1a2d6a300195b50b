/**
 * Moves pipeline runs on as facts arrive: a stage's task completed or failed, an agent
 * reported a stage, an agent came back. Reacts after the ingest that stored the facts
 * (never inside it, so listeners see events in seq order) and sends the notifications of
 * runs that finished.
 */
import { onStoredEvents, type StoredEvent } from '../utils/event-bus'
import { notifyPipelineRunFinished } from '../utils/pipeline-notifications'
import { movesPipelines, PIPELINE_SOURCE, reactToPipelineEvents } from '../utils/pipelines'

export default defineNitroPlugin((nitroApp) => {
  let pending: StoredEvent[] = []
  let scheduled = false
  const off = onStoredEvents((events) => {
    // Events another process stored are that process's to react to, so each reaction happens once.
    if (events[0]?.remote) events = events.filter(e => !e.remote)
    for (const e of events) {
      if (e.kind === 'pipeline.run.finished' && (e.derived as { ignored?: boolean } | undefined)?.ignored !== true) {
        void notifyPipelineRunFinished(String(e.payload.run_id))
      }
    }
    // The reactor handles what it stored itself, and so do the routes that call it.
    const relevant = events.filter(e => e.source !== PIPELINE_SOURCE && movesPipelines(e))
    if (!relevant.length) return
    pending.push(...relevant)
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      const batch = pending
      pending = []
      try {
        reactToPipelineEvents(batch)
      }
      catch (error) {
        console.error('[seneca] pipeline reaction failed', error)
      }
    })
  })
  nitroApp.hooks.hook('close', () => off())
})
