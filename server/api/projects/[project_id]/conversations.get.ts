import { type ConversationListResponse, conversationListQuery, projectIdParams } from '../../../../shared/conversations'

/** GET /api/projects/{project_id}/conversations: the conversation list of one project. */
export default defineEventHandler((event) => {
  const { project_id } = validParams(event, projectIdParams)
  const query = validQuery(event, conversationListQuery)
  assertProjectAccess(event, project_id)
  assertProjectExists(project_id)
  return listConversations({ ...query, project_id }) satisfies ConversationListResponse
})
