import { z } from 'zod'
import { conversationIdParams } from '../../../../shared/conversations'
import { serveConversationStream, streamPrincipal } from '../../../utils/realtime'

const query = z.object({
  /** The stream token from POST …/stream (EventSource cannot send headers). */
  token: z.string().min(1).max(8192).optional(),
  /** Comma-separated message types; all when omitted. */
  message_types: z.string().max(2000).optional(),
  include_metadata: z.enum(['true', 'false']).default('true'),
  /** For clients that cannot set the Last-Event-ID header on their first request. */
  last_event_id: z.string().regex(/^\d{1,15}$/).optional(),
})

/** A conversation's messages as Server-Sent Events; `Last-Event-ID` replays from that seq. */
export default defineEventHandler(async (event) => {
  const q = validQuery(event, query)
  const principal = await streamPrincipal(event, q.token)
  const { id } = validParams(event, conversationIdParams)
  const lastEventId = getRequestHeader(event, 'last-event-id') ?? q.last_event_id
  if (lastEventId !== undefined && !/^\d{1,15}$/.test(lastEventId)) {
    throw apiError('VALIDATION_FAILED', 'Last-Event-ID must be the seq of an event this stream sent', { last_event_id: lastEventId })
  }
  serveConversationStream(event, principal, id, {
    messageTypes: q.message_types?.split(',').map(t => t.trim()).filter(Boolean),
    includeMetadata: q.include_metadata === 'true',
    lastEventId: lastEventId === undefined ? undefined : Number(lastEventId),
  })
})
