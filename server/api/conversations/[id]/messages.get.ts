import { conversationIdParams, type MessageListResponse, messageListQuery } from '../../../../shared/conversations'
import { listMessagesJson } from '../../../utils/conversations'
import type { JsonText } from '../../../utils/json-text'

/** GET /api/conversations/{id}/messages: a page of the thread, oldest first within the page. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, conversationIdParams)
  const query = validQuery(event, messageListQuery)
  return listMessagesJson(id, query, scopeFor(event)) satisfies JsonText<MessageListResponse>
})
