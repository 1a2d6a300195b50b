import { analyticsQuery, type ConversationAnalytics } from '../../../shared/conversations'

/** GET /api/conversations/analytics: figures from conversations and hourly message rollups. */
export default defineEventHandler(async (event) => {
  const query = validQuery(event, analyticsQuery)
  const projectId = analyticsProject(event, query.project_id)
  return (await conversationAnalytics({ ...query, project_id: projectId })) satisfies ConversationAnalytics
})
