import { type ConversationListResponse, conversationListQuery } from '../../../shared/conversations'

/** GET /api/conversations: conversations, newest activity first, by offset or keyset cursor. */
export default defineEventHandler((event) => {
  const query = validQuery(event, conversationListQuery)
  return listConversations(query, scopeFor(event, query.project_id)) satisfies ConversationListResponse
})
