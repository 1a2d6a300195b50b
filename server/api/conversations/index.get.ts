import { type ConversationListResponse, conversationListQuery } from '../../../shared/conversations'
import { listConversationsJson } from '../../utils/conversations'
import type { JsonText } from '../../utils/json-text'

/** GET /api/conversations: conversations, newest activity first, by offset or keyset cursor. */
export default defineEventHandler((event) => {
  const query = validQuery(event, conversationListQuery)
  return listConversationsJson(query, scopeFor(event, query.project_id)) satisfies JsonText<ConversationListResponse>
})
