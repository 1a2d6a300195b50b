import { z } from 'zod'
import { conversationIdParams } from '../../../../shared/conversations'
import { conversationStreamAttachment, streamPrincipal } from '../../../utils/realtime'

const body = z.object({
  include_metadata: z.boolean().default(true),
  /** Message types to stream; all when omitted. */
  filter_types: z.array(z.string().min(1).max(64)).max(50).optional(),
  /** `false`: historical browsing, no live feed. */
  real_time: z.boolean().default(true),
}).strict()

/** How to attach to a conversation's live messages (WebSocket subscription or SSE), with a short-lived token. */
export default defineEventHandler(async (event) => {
  const principal = await streamPrincipal(event)
  const { id } = validParams(event, conversationIdParams)
  const hasBody = Number(getRequestHeader(event, 'content-length') ?? 0) > 0 || getRequestHeader(event, 'transfer-encoding') !== undefined
  const input = validated(body, hasBody ? await readJsonBody(event, 16 * 1024) : {}, 'body')
  return conversationStreamAttachment(event, principal, id, input)
})
