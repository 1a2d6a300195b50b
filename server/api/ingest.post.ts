import { ingestLimits, type IngestResponse } from '../../shared/events'

export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const body = await readJsonBody(event, ingestLimits.maxBytes)
  const events = (body as { events?: unknown })?.events
  if (typeof body !== 'object' || body === null || !Array.isArray(events)) {
    throw apiError('VALIDATION_FAILED', 'Expected a body {"events": [...]}')
  }
  if (events.length > ingestLimits.maxEvents) {
    throw apiError('PAYLOAD_TOO_LARGE', `At most ${ingestLimits.maxEvents} events per request, got ${events.length}`, { max_events: ingestLimits.maxEvents, received: events.length })
  }
  const projects = projectScope(principal)
  const { results, stored, duplicates, rejected } = ingest(events, principal.kind === 'api_key' ? `api:${principal.id}` : 'api', {
    projects,
    // A sender scoped to one project writes there unless an event says otherwise.
    defaultProject: projects?.length === 1 ? projects[0] : undefined,
  })
  event.context.audit = { action: 'ingest', projectId: projects?.length === 1 ? projects[0] : undefined }
  // 207: the body says, per event, which ones were rejected.
  if (rejected > 0) setResponseStatus(event, 207)
  return { results, stored, duplicates, rejected } satisfies IngestResponse
})
