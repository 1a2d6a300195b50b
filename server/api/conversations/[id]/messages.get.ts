import { conversationIdParams, type MessageListResponse, messageListQuery } from '../../../../shared/conversations'

/** GET /api/conversations/{id}/messages: a page of the thread, oldest first within the page. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, conversationIdParams)
  const query = validQuery(event, messageListQuery)
  return listMessages(id, query, scopeFor(event)) satisfies MessageListResponse
})
