import { type Conversation, conversationIdParams } from '../../../shared/conversations'

/** GET /api/conversations/{id} */
export default defineEventHandler((event) => {
  const params = getRouterParams(event, { decode: true })
  // h3 hands a static sibling asked with another method (GET /api/conversations/batch) to this
  // parametric route, without params.
  if (params.id === undefined) throw apiError('METHOD_NOT_ALLOWED', `${event.method} is not allowed on ${event.path.split('?')[0]}`)
  const { id } = validated(conversationIdParams, params, 'path parameter')
  return getConversation(id, scopeFor(event)) satisfies Conversation
})
