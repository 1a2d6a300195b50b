import { type ConversationListResponse, conversationListQuery, projectIdParams } from '../../../../shared/conversations'
import { listConversationsJson } from '../../../utils/conversations'
import type { JsonText } from '../../../utils/json-text'

/** GET /api/projects/{project_id}/conversations: the conversation list of one project. */
export default defineEventHandler((event) => {
  const { project_id } = validParams(event, projectIdParams)
  const query = validQuery(event, conversationListQuery)
  assertProjectAccess(event, project_id)
  assertProjectExists(project_id)
  return listConversationsJson({ ...query, project_id }) satisfies JsonText<ConversationListResponse>
})
