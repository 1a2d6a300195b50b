/**
 * The Conversation API's inputs (zod schemas for route params, query strings and bodies)
 * and response shapes, shared by the server routes and the dashboards.
 */
import { z } from 'zod'

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

/** A query-string integer: digits only (no `1e3`, no `5.5`, no blanks), within bounds. */
function intParam(name: string, fallback: number, min: number, max: number) {
  return z.string()
    .regex(/^-?\d{1,15}$/, `${name} must be an integer`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))
    .default(fallback)
}

/** ISO-8601 (`2025-07-14`, `2025-07-14T11:15:30Z`) or epoch milliseconds; normalised to epoch ms. */
export const timeParam = z.string()
  .refine(s => /^\d{1,15}$/.test(s) || (/^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s))),
    'expected an ISO-8601 timestamp or epoch milliseconds')
  .transform(s => (/^\d+$/.test(s) ? Number(s) : Date.parse(s)))

const idParam = z.string().min(1).max(256)

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

export type ConversationStatus = 'active' | 'idle' | 'closed'

export type Conversation = {
  id: string
  agent_id: string | null
  project_id: string
  started_at: string
  /** `closed` when closed explicitly, else `active` within the idle window of the last message, else `idle`. */
  status: ConversationStatus
  message_count: number
  last_activity: string
  participants: string[]
  type: string
  title: string | null
  error_count: number
}

export type ConversationListResponse = {
  conversations: Conversation[]
  /** Every conversation matching the filters (not only those after the cursor). */
  total: number
  has_more: boolean
  /** Pass as `cursor` for the next page; set whenever `has_more`. */
  next_cursor: string | null
}

export type ConversationMessage = {
  id: string
  conversation_id: string
  sender: string
  recipient: string | null
  content: string
  timestamp: string
  message_type: string
  metadata: Record<string, unknown>
  /** Milliseconds since the message this one answers, when it answers one. */
  response_time_ms: number | null
}

export type MessageListResponse = {
  /** Chronological (oldest first) within the page. */
  messages: ConversationMessage[]
  /** More messages exist beyond the page in the paging direction (older for `before`/no cursor, newer for `after`). */
  has_more: boolean
}

export type ConversationAnalytics = {
  total_conversations: number
  active_conversations: number
  /** Seconds, mean over request→response pairs; null when there are none. */
  avg_response_time: number | null
  /** UTC hour ranges, `HH:00-HH:00`, end exclusive. */
  peak_hours: string[]
  top_agents: { agent_id: string, conversation_count: number, message_count: number }[]
  /** Error messages / messages; null when there are no messages. */
  error_rate: number | null
  total_messages: number
}

export type ConversationBatchResult = {
  id: string
  status: 'found' | 'not_found'
  conversation?: Conversation
  error?: { code: string, message: string }
}

export type ConversationBatchResponse = { results: ConversationBatchResult[] }

export type MessageSearchResult = {
  message: ConversationMessage
  conversation_id: string
  /** HTML-safe excerpt: the content is escaped, matches are wrapped in `<mark>`. */
  snippet: string
}

export type MessageSearchResponse = {
  results: MessageSearchResult[]
  /** Matches (within the searched window when `partial`). */
  total: number
  has_more: boolean
  /** `fulltext` (FTS5) or `substring` (scripts written without spaces, e.g. Chinese, Japanese). */
  mode: 'fulltext' | 'substring'
  /**
   * The search stopped early: full-text mode reads the newest 50,000 messages containing the
   * words, substring mode the newest 100,000 messages matching the filters; older ones were
   * not searched, so `total` is a lower bound. Substring results are always newest first.
   */
  partial: boolean
}
