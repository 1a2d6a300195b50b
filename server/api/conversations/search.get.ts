import { type MessageSearchResponse, searchQuery } from '../../../shared/conversations'

/** GET /api/conversations/search?q=: full-text search over message content. */
export default defineEventHandler((event) => {
  const query = validQuery(event, searchQuery)
  return searchMessages(query, scopeFor(event, query.project_id)) satisfies MessageSearchResponse
})
