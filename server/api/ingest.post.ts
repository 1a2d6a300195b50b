import { ingestLimits, type IngestResponse } from '../../shared/events'

export default defineEventHandler(async (event) => {
  const body = await readJsonBody(event, ingestLimits.maxBytes)
  const events = (body as { events?: unknown })?.events
  if (typeof body !== 'object' || body === null || !Array.isArray(events)) {
    throw apiError('VALIDATION_FAILED', 'Expected a body {"events": [...]}')
  }
  if (events.length > ingestLimits.maxEvents) {
    throw apiError('PAYLOAD_TOO_LARGE', `At most ${ingestLimits.maxEvents} events per request, got ${events.length}`, { max_events: ingestLimits.maxEvents, received: events.length })
  }
  const { results, stored, duplicates, rejected } = ingest(events, 'api')
  // 207: the body says, per event, which ones were rejected.
  if (rejected > 0) setResponseStatus(event, 207)
  return { results, stored, duplicates, rejected } satisfies IngestResponse
})
