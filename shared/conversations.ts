/**
 * The Conversation API's inputs (zod schemas for route params, query strings and bodies)
 * and response shapes, shared by the server routes and the dashboards.
 */
import { z } from 'zod'
import { idParam, intParam, timeParam } from './query'
import type {
  conversationAnalyticsResponse, conversationBatchResponse, conversationBatchResult, conversationListResponse,
  conversationMessageSchema, conversationSchema, conversationStatus, messageListResponse, messageSearchResponse,
  messageSearchResult,
} from './responses'

export const conversationLimits = {
  listDefault: 50,
  listMax: 200,
  messagesDefault: 100,
  messagesMax: 500,
  searchDefault: 20,
  searchMax: 100,
  batchMax: 50,
  /** Bytes of a batch request body. */
  batchMaxBytes: 64 * 1024,
  /** Characters of a search query. */
  queryMax: 500,
} as const

export const conversationIdParams = z.object({ id: idParam })
export const projectIdParams = z.object({ project_id: idParam })

export const conversationListQuery = z.object({
  limit: intParam('limit', conversationLimits.listDefault, 1, conversationLimits.listMax),
  offset: intParam('offset', 0, 0, 1_000_000_000),
  /** Opaque; from a previous page's `next_cursor`. When given, `offset` is ignored. */
  cursor: z.string().min(1).max(1024).optional(),
  /** Conversations the agent takes part in (as a participant or as the conversation's agent). */
  agent_id: idParam.optional(),
  project_id: idParam.optional(),
  /** Conversations with activity after this time. */
  since: timeParam.optional(),
})
export type ConversationListQuery = z.output<typeof conversationListQuery>

export const messageListQuery = z.object({
  limit: intParam('limit', conversationLimits.messagesDefault, 1, conversationLimits.messagesMax),
  /** A message id of this conversation: the page holds messages older than it. */
  before: idParam.optional(),
  /** A message id of this conversation: the page holds messages newer than it. */
  after: idParam.optional(),
})
export type MessageListQuery = z.output<typeof messageListQuery>

export const analyticsQuery = z.object({
  project_id: idParam.optional(),
  agent_id: idParam.optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
}).refine(q => q.since === undefined || q.until === undefined || q.since <= q.until, { message: 'since must not be after until', path: ['since'] })
export type AnalyticsQuery = z.output<typeof analyticsQuery>

export const searchQuery = z.object({
  q: z.string().trim().min(1, 'q must not be empty').max(conversationLimits.queryMax),
  project_id: idParam.optional(),
  /** Messages the agent sent or received. */
  agent_id: idParam.optional(),
  conversation_id: idParam.optional(),
  /** Messages after this time. */
  since: timeParam.optional(),
  /** `recent`: newest first (by arrival); `relevance`: FTS5 bm25, then newest first. */
  sort: z.enum(['recent', 'relevance']).default('recent'),
  limit: intParam('limit', conversationLimits.searchDefault, 1, conversationLimits.searchMax),
  offset: intParam('offset', 0, 0, 10_000),
})
export type SearchQuery = z.output<typeof searchQuery>

export const batchBody = z.object({
  conversation_ids: z.array(idParam, 'conversation_ids must be an array of conversation ids'),
})

/** `GET /api/conversations/{id}/stream`: the conversation's messages as Server-Sent Events. */
export const conversationStreamQuery = z.object({
  /** The stream token from POST …/stream (EventSource cannot send headers). */
  token: z.string().min(1).max(8192).optional(),
  /** Comma-separated message types; all when omitted. */
  message_types: z.string().max(2000).optional(),
  include_metadata: z.enum(['true', 'false']).default('true'),
  /** For clients that cannot set the Last-Event-ID header on their first request. */
  last_event_id: z.string().regex(/^\d{1,15}$/).optional(),
})

/** `POST /api/conversations/{id}/stream`: how to attach to the conversation's live messages. */
export const conversationStreamBody = z.object({
  include_metadata: z.boolean().default(true),
  /** Message types to stream; all when omitted. */
  filter_types: z.array(z.string().min(1).max(64)).max(50).optional(),
  /** `false`: historical browsing, no live feed. */
  real_time: z.boolean().default(true),
}).strict()

// Response shapes: inferred from the zod schemas in ./responses, which the OpenAPI document
// is generated from and the API tests check real answers against.
export type ConversationStatus = z.output<typeof conversationStatus>
export type Conversation = z.output<typeof conversationSchema>
export type ConversationListResponse = z.output<typeof conversationListResponse>
export type ConversationMessage = z.output<typeof conversationMessageSchema>
export type MessageListResponse = z.output<typeof messageListResponse>
export type ConversationAnalytics = z.output<typeof conversationAnalyticsResponse>
export type ConversationBatchResult = z.output<typeof conversationBatchResult>
export type ConversationBatchResponse = z.output<typeof conversationBatchResponse>
export type MessageSearchResult = z.output<typeof messageSearchResult>
export type MessageSearchResponse = z.output<typeof messageSearchResponse>
