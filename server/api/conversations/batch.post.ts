import { batchBody, type ConversationBatchResponse, conversationLimits } from '../../../shared/conversations'

/** POST /api/conversations/batch: up to 50 conversations by id, answered per id in request order. */
export default defineEventHandler(async (event) => {
  const body = await readJsonBody(event, conversationLimits.batchMaxBytes)
  const ids = (body as { conversation_ids?: unknown } | null)?.conversation_ids
  // Counted before the items are validated, so an oversized batch gets the clear code.
  if (Array.isArray(ids) && ids.length > conversationLimits.batchMax) {
    throw apiError('BATCH_TOO_LARGE', `At most ${conversationLimits.batchMax} conversations per batch, got ${ids.length}`,
      { max: conversationLimits.batchMax, received: ids.length })
  }
  const { conversation_ids } = validated(batchBody, body, 'body')
  return { results: getConversationsBatch(conversation_ids, scopeFor(event)) } satisfies ConversationBatchResponse
})
