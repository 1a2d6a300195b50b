/**
 * Moves pipeline runs on as facts arrive: a stage's task completed or failed, an agent
 * reported a stage, an agent came back. Reacts after the ingest that stored the facts
 * (never inside it, so listeners see events in seq order) and sends the notifications of
 * runs that finished.
 */
import { afterStoredEvents } from '../utils/event-bus'
import { notifyPipelineRunFinished } from '../utils/pipeline-notifications'
import { movesPipelines, PIPELINE_SOURCE, reactToPipelineEvents } from '../utils/pipelines'

export default defineNitroPlugin((nitroApp) => {
  const off = afterStoredEvents((events) => {
    // Events another process stored are that process's to react to, so each reaction happens once.
    const own = events[0]?.remote ? events.filter(e => !e.remote) : events
    for (const e of own) {
      if (e.kind === 'pipeline.run.finished' && (e.derived as { ignored?: boolean } | undefined)?.ignored !== true) {
        void notifyPipelineRunFinished(String(e.payload.run_id))
      }
    }
    // The reactor handles what it stored itself, and so do the routes that call it.
    return own.filter(e => e.source !== PIPELINE_SOURCE && movesPipelines(e))
  }, reactToPipelineEvents, 'pipeline reaction')
  nitroApp.hooks.hook('close', () => off())
})
