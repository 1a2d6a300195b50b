/**
 * The Conversation API's reads: lists, threads, analytics, batch look-ups and search.
 *
 * Hot queries are prepared statements on the raw connection, cached per connection and
 * keyed by their SQL text (built from a fixed set of filter combinations, so the cache is
 * bounded). Filters are written into the WHERE clause only when present — never as
 * `? IS NULL OR col = ?`, which stops SQLite from using an index — and keyset cursors
 * are row values, `(a, b) < (?, ?)`, which SQLite turns into one index range
 * (the OR-form scans the index: STACK-NOTES).
 */
import type {
  AnalyticsQuery, Conversation, ConversationAnalytics, ConversationBatchResult, ConversationListQuery,
  ConversationListResponse, ConversationMessage, MessageListQuery, MessageListResponse, MessageSearchResponse,
  MessageSearchResult, SearchQuery,
} from '../../shared/conversations'
import { useConfig } from './config'
import { type Sqlite, prepared, useDatabase } from './db'
import { apiError } from './errors'
import { inScope, type Scope, scopeSql } from './access'
import { cachedRead, type Computed } from './cache'
import { indexPendingMessages } from './search-index'
import { JsonText, jsonString } from './json-text'
import { storeVersion } from './store-version'
import { parseJson, round } from './values'

const HOUR = 3_600_000
const DAY = 24 * HOUR

// ---------------------------------------------------------------------------------------
// Statements

type Params = Record<string, string | number>

const memoCache = new WeakMap<Sqlite, Map<string, { version: string, value: unknown }>>()

/**
 * A value computed from stored rows only (never from the clock), remembered until the store
 * changes: `key` must name everything else it depends on. Nothing is remembered or answered
 * inside a transaction, whose writes a rollback could take back without a new version.
 */
function memoByVersion<T>(sqlite: Sqlite, key: string, compute: () => T): T {
  if (sqlite.inTransaction) return compute()
  let cache = memoCache.get(sqlite)
  if (!cache) memoCache.set(sqlite, (cache = new Map()))
  const version = storeVersion(sqlite)
  const hit = cache.get(key)
  if (hit && hit.version === version) return hit.value as T
  const value = compute()
  if (cache.size >= 1000) cache.clear()
  cache.set(key, { version, value })
  return value
}

/** `SELECT count(*) AS n …`, remembered until the store changes: deep paging re-asks for the same total on every page. */
function cachedCount(sqlite: Sqlite, sql: string, params: Params): number {
  return memoByVersion(sqlite, `${sql}\u0000${JSON.stringify(params)}`, () => (prepared(sqlite, sql).get(params) as { n: number }).n)
}

// ---------------------------------------------------------------------------------------
// Times

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'))
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
/** `YYYY-MM-DDT` per UTC day number. */
const dayPrefixes = new Map<number, string>()

/**
 * `new Date(ms).toISOString()`, about ten times cheaper (a page of conversations formats a
 * hundred times): the date part is remembered per UTC day, the time of day is arithmetic.
 * Outside years 1970–9999, or for a non-integer, it is the Date method itself.
 */
export function isoTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= 253_402_300_800_000) return new Date(ms).toISOString()
  const day = Math.floor(ms / DAY)
  let prefix = dayPrefixes.get(day)
  if (prefix === undefined) {
    if (dayPrefixes.size >= 10_000) dayPrefixes.clear()
    dayPrefixes.set(day, (prefix = new Date(day * DAY).toISOString().slice(0, 11)))
  }
  let rest = ms - day * DAY
  const hours = Math.floor(rest / HOUR)
  rest -= hours * HOUR
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  return `${prefix}${PAD2[hours]}:${PAD2[minutes]}:${PAD2[seconds]}.${PAD3[rest - seconds * 1000]}Z`
}

// ---------------------------------------------------------------------------------------
// Conversations

/** A conversation row as the raw statements answer it: the columns of CONVERSATION_COLUMNS, in order. */
type ConversationRow = [
  id: string,
  agent_id: string | null,
  project_id: string,
  started_at: number,
  closed_at: number | null,
  message_count: number,
  last_activity: number,
  participants: string,
  type: string,
  title: string | null,
  error_count: number,
]
const C_ID = 0
const C_PROJECT = 2
const C_MESSAGE_COUNT = 5

const CONVERSATION_COLUMNS = `c.id, c.agent_id, c.project_id, c.started_at, c.closed_at, c.message_count,
  c.last_activity, c.participants, c.type, c.title, c.error_count`

function toConversation(row: ConversationRow, now: number, idleMs: number): Conversation {
  const [id, agentId, projectId, startedAt, closedAt, messageCount, lastActivity, participants, type, title, errorCount] = row
  return {
    id,
    agent_id: agentId,
    project_id: projectId,
    started_at: isoTime(startedAt),
    status: closedAt != null ? 'closed' : lastActivity >= now - idleMs ? 'active' : 'idle',
    message_count: messageCount,
    last_activity: isoTime(lastActivity),
    participants: parseJson<string[]>(participants, []),
    type,
    title,
    error_count: errorCount,
  }
}

/**
 * Page rows are written by SQLite, one string a row: better-sqlite3 spends most of a page's time
 * turning values into JavaScript ones, about as much per value as per row, so one value a row
 * costs about half as much as eleven, and nothing is left to escape or join here. Strings are
 * quoted by `json_quote` (which escapes as JSON.stringify does), numbers are written as SQLite
 * prints integers (as JavaScript does), stored JSON is copied (every writer stores it with
 * JSON.stringify). Times are left as epoch ms where the ISO text goes, to be formatted here:
 * far cheaper than `strftime`. A time is found by its key: `,"` never occurs inside a quoted
 * value (its quote would be escaped), so the first `,"<key>":"` of a row is the key itself, as long
 * as only quoted values and numbers come before it.
 */
function withIsoTime(row: string, key: string, from = 0): { text: string, end: number, ms: number } {
  const start = row.indexOf(key, from) + key.length
  const end = row.indexOf('"', start)
  const ms = Number(row.slice(start, end))
  return { text: row.slice(from, start) + isoTime(ms), end, ms }
}

/**
 * A page's `LIMIT`: its rows and one more (to tell `has_more`), written into the statement. With
 * the same query plan, a bound LIMIT made reading a page of 51 rows about 40% slower here than a
 * literal one; page sizes are few (a validated integer: one cached statement per size).
 */
function pageLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError(`page limit must be a whole number, not ${limit}`)
  return limit + 1
}

const STARTED_AT = ',"started_at":"'
const LAST_ACTIVITY = ',"last_activity":"'
const AGENT_ID = ',"agent_id":'

/** A conversation list row: `JSON.stringify(toConversation(…))` but for its two times; `@activeFrom` decides the status. */
const CONVERSATION_PAGE_ROW = `'{"id":' || json_quote(c.id) || '${AGENT_ID}' || json_quote(c.agent_id) || ',"project_id":' || json_quote(c.project_id)
  || '${STARTED_AT}' || c.started_at
  || '","status":"' || CASE WHEN c.closed_at IS NOT NULL THEN 'closed' WHEN c.last_activity >= @activeFrom THEN 'active' ELSE 'idle' END
  || '","message_count":' || c.message_count || '${LAST_ACTIVITY}' || c.last_activity
  || '","participants":' || CASE WHEN c.participants IN ('', 'null') THEN '[]' ELSE c.participants END
  || ',"type":' || json_quote(c.type) || ',"title":' || json_quote(c.title) || ',"error_count":' || c.error_count || '}'`

/** A conversation list row's JSON text, and its cursor key (`last_activity`, `id`). */
function conversationPageJson(row: string): { json: string, lastActivity: number, idJson: string } {
  const started = withIsoTime(row, STARTED_AT)
  const last = withIsoTime(row, LAST_ACTIVITY, started.end)
  return { json: started.text + last.text + row.slice(last.end), lastActivity: last.ms, idJson: row.slice(6, row.indexOf(AGENT_ID)) }
}

type ConversationFilter = { projectId?: string, agentId?: string, since?: number, until?: number, scope?: Scope }

/**
 * How the agent filter is evaluated. An agent "takes part" when it is a participant (sender
 * or recipient of a message) or the conversation's agent: the projection records an explicit
 * `agent_id` on the conversation without adding it to the participants.
 * - `lookup`: collect the agent's conversations from the participants' primary key and the
 *   conversations' agent index, then sort them; cheap when the agent is in few conversations.
 * - `probe`: walk the activity index in page order and probe the participants' primary key
 *   per row; cheap when the agent is in most of them (a coordinator is in every one).
 */
type AgentStrategy = 'lookup' | 'probe'

/** WHERE terms over `conversations c`. */
function conversationWhere(f: ConversationFilter, params: Params, agentStrategy: AgentStrategy = 'lookup'): string[] {
  const where: string[] = []
  if (f.projectId !== undefined) {
    where.push('c.project_id = @projectId')
    params.projectId = f.projectId
  }
  where.push(...scopeSql('c.project_id', f.scope ?? null, params))
  if (f.agentId !== undefined) {
    where.push(agentStrategy === 'lookup'
      ? `c.id IN (SELECT conversation_id FROM conversation_participants WHERE participant = @agentId
      UNION SELECT id FROM conversations WHERE agent_id = @agentId)`
      : `(EXISTS (SELECT 1 FROM conversation_participants p WHERE p.participant = @agentId AND p.conversation_id = c.id)
      OR c.agent_id = @agentId)`)
    params.agentId = f.agentId
  }
  if (f.since !== undefined) {
    where.push('c.last_activity > @since')
    params.since = f.since
  }
  if (f.until !== undefined) {
    where.push('c.started_at <= @until')
    params.until = f.until
  }
  return where
}

function whereSql(where: string[]): string {
  return where.length ? `WHERE ${where.join(' AND ')}` : ''
}

/** Opaque keyset cursor: base64url of `[last_activity, id]` of the last row of a page. */
export function encodeCursor(lastActivity: number, id: string): string {
  return Buffer.from(JSON.stringify([lastActivity, id])).toString('base64url')
}

export function decodeCursor(cursor: string): { lastActivity: number, id: string } {
  let value: unknown
  try {
    if (!/^[\w-]+$/.test(cursor)) throw new Error('not base64url')
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  }
  catch {
    value = undefined
  }
  if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || typeof value[1] !== 'string') {
    throw apiError('INVALID_CURSOR', 'The cursor is not one this API issued; start again without it', { cursor })
  }
  return { lastActivity: value[0] as number, id: value[1] as string }
}

/**
 * A page of conversations, newest activity first (`last_activity DESC, id DESC`).
 * With a cursor the page starts after the cursor's row and `offset` is ignored.
 */
export function listConversations(query: ConversationListQuery, scope: Scope = null): ConversationListResponse {
  return listConversationsJson(query, scope).value()
}

/**
 * `listConversations` as the answer's JSON text, the same bytes `JSON.stringify` gives for the
 * object: each row is written straight from the raw columns (the hot list route sends it as is).
 */
export function listConversationsJson(query: ConversationListQuery, scope: Scope = null): JsonText<ConversationListResponse> {
  const { sqlite } = useDatabase()
  const filter = { projectId: query.project_id, agentId: query.agent_id, since: query.since, scope }
  const params: Params = {}
  const where = conversationWhere(filter, params)
  const total = cachedCount(sqlite, `SELECT count(*) AS n FROM conversations c ${whereSql(where)}`, params)

  let strategy: AgentStrategy = 'lookup'
  if (query.agent_id !== undefined && total > 0) {
    // Probing costs about (rows to skip and return) × (conversations per agent conversation);
    // looking up costs a sort of the agent's conversations. A cursor skips rows in the index.
    const withoutAgent: Params = {}
    const all = cachedCount(sqlite, `SELECT count(*) AS n FROM conversations c ${whereSql(conversationWhere({ ...filter, agentId: undefined }, withoutAgent))}`, withoutAgent)
    const rows = (query.cursor === undefined ? query.offset : 0) + query.limit + 1
    if (rows * all < total * total) strategy = 'probe'
  }
  const pageParams: Params = { offset: 0, activeFrom: Date.now() - useConfig().conversationIdleMs }
  const pageWhere = conversationWhere(filter, pageParams, strategy)
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor)
    pageWhere.push('(c.last_activity, c.id) < (@cursorActivity, @cursorId)')
    pageParams.cursorActivity = cursor.lastActivity
    pageParams.cursorId = cursor.id
  }
  else pageParams.offset = query.offset
  const rows = prepared(sqlite, `SELECT ${CONVERSATION_PAGE_ROW} FROM conversations c ${whereSql(pageWhere)}
    ORDER BY c.last_activity DESC, c.id DESC LIMIT ${pageLimit(query.limit)} OFFSET @offset`).pluck().all(pageParams) as string[]

  const hasMore = rows.length > query.limit
  const count = hasMore ? query.limit : rows.length
  let json = '{"conversations":['
  let last: ReturnType<typeof conversationPageJson> | undefined
  for (let i = 0; i < count; i++) {
    last = conversationPageJson(rows[i]!)
    json += i > 0 ? `,${last.json}` : last.json
  }
  const nextCursor = hasMore && last ? jsonString(encodeCursor(last.lastActivity, JSON.parse(last.idJson) as string)) : 'null'
  json += `],"total":${total},"has_more":${hasMore},"next_cursor":${nextCursor}}`
  return new JsonText(json)
}

function conversationRow(sqlite: Sqlite, id: string): ConversationRow | undefined {
  return prepared(sqlite, `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?`, true).get(id) as ConversationRow | undefined
}

/** The project of a conversation (what a scope check needs), or undefined when it does not exist. */
function conversationProject(sqlite: Sqlite, id: string): string | undefined {
  const row = prepared(sqlite, 'SELECT project_id FROM conversations WHERE id = ?', true).get(id) as [string] | undefined
  return row?.[0]
}

function notFound(id: string) {
  return apiError('CONVERSATION_NOT_FOUND', `Conversation with ID '${id}' does not exist`, { conversation_id: id })
}

export function getConversation(id: string, scope: Scope = null): Conversation {
  const row = conversationRow(useDatabase().sqlite, id)
  if (!row || !inScope(scope, row[C_PROJECT])) throw notFound(id)
  return toConversation(row, Date.now(), useConfig().conversationIdleMs)
}

/** Answers per id, in request order (duplicates answered twice), with one query. */
export function getConversationsBatch(ids: string[], scope: Scope = null): ConversationBatchResult[] {
  const { sqlite } = useDatabase()
  const rows = ids.length
    ? prepared(sqlite, `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id IN (SELECT value FROM json_each(?))`, true)
      .all(JSON.stringify(ids)) as ConversationRow[]
    : []
  const byId = new Map(rows.filter(r => inScope(scope, r[C_PROJECT])).map(r => [r[C_ID], r]))
  const now = Date.now()
  const idleMs = useConfig().conversationIdleMs
  return ids.map((id) => {
    const row = byId.get(id)
    if (row) return { id, status: 'found', conversation: toConversation(row, now, idleMs) }
    return { id, status: 'not_found', error: { code: 'CONVERSATION_NOT_FOUND', message: `Conversation with ID '${id}' does not exist` } }
  })
}

/** Throws PROJECT_NOT_FOUND unless the project exists. */
export function assertProjectExists(projectId: string) {
  const row = prepared(useDatabase().sqlite, 'SELECT 1 AS found FROM projects WHERE id = ?').get(projectId)
  if (!row) throw apiError('PROJECT_NOT_FOUND', `Project with ID '${projectId}' does not exist`, { project_id: projectId })
}

// ---------------------------------------------------------------------------------------
// Messages

type MessageRow = {
  seq: number
  id: string
  conversation_id: string
  sender: string
  recipient: string | null
  content: string
  ts: number
  message_type: string
  metadata: string | null
  response_time_ms: number | null
}

const MESSAGE_COLUMNS = `m.seq, m.id, m.conversation_id, m.sender, m.recipient, m.content, m.ts, m.message_type,
  m.metadata, m.response_time_ms`

function toMessage(row: MessageRow): ConversationMessage {
  return {
    id: row.id,
    conversation_id: row.conversation_id,
    sender: row.sender,
    recipient: row.recipient,
    content: row.content,
    timestamp: isoTime(row.ts),
    message_type: row.message_type,
    // Same as the realtime `conversation_message` payload: no metadata is an empty object.
    metadata: parseJson<Record<string, unknown>>(row.metadata, {}),
    response_time_ms: row.response_time_ms,
  }
}

const TIMESTAMP = ',"timestamp":"'

/**
 * A thread page row: `JSON.stringify` of its `ConversationMessage` but for the time, written as
 * the conversation list's rows are (`@conversationJson`: the conversation id as a JSON string;
 * metadata: the stored JSON object, `{}` when there is none; response times are integers).
 */
const THREAD_ROW = `'{"id":' || json_quote(m.id) || ',"conversation_id":' || @conversationJson || ',"sender":' || json_quote(m.sender)
  || ',"recipient":' || json_quote(m.recipient) || ',"content":' || json_quote(m.content) || '${TIMESTAMP}' || m.ts
  || '","message_type":' || json_quote(m.message_type)
  || ',"metadata":' || CASE WHEN m.metadata IS NULL OR m.metadata IN ('', 'null') THEN '{}' ELSE m.metadata END
  || ',"response_time_ms":' || coalesce(m.response_time_ms, 'null') || '}'`

function threadMessageJson(row: string): string {
  const time = withIsoTime(row, TIMESTAMP)
  return time.text + row.slice(time.end)
}

/** Where a message id sits in its conversation's order; MESSAGE_NOT_FOUND unless it belongs there. */
function messagePosition(sqlite: Sqlite, conversationId: string, messageId: string, param: string): { ts: number, seq: number } {
  const row = prepared(sqlite, 'SELECT ts, seq, conversation_id FROM messages WHERE id = ?').get(messageId) as
    { ts: number, seq: number, conversation_id: string } | undefined
  if (!row || row.conversation_id !== conversationId) {
    throw apiError('MESSAGE_NOT_FOUND', `${param}: no message '${messageId}' in conversation '${conversationId}'`,
      { message_id: messageId, conversation_id: conversationId, param })
  }
  return row
}

/**
 * A page of a conversation's messages, always in chronological order (oldest first)
 * within the page, so a thread view can prepend older pages as they load.
 * - no cursor: the newest `limit` messages;
 * - `before`: the newest `limit` messages older than that message (page backwards);
 * - `after`: the oldest `limit` messages newer than that message (page forwards; with
 *   `before` too, only messages between the two).
 * `has_more` says whether more exist in the paging direction. Order is `(ts, seq)`: the
 * time the message happened, then arrival order, on the (conversation_id, ts, seq) index.
 */
export function listMessages(conversationId: string, query: MessageListQuery, scope: Scope = null): MessageListResponse {
  return listMessagesJson(conversationId, query, scope).value()
}

/**
 * `listMessages` as the answer's JSON text, the same bytes `JSON.stringify` gives for the
 * object: each row is written straight from the raw columns (the hot thread route sends it as is).
 */
export function listMessagesJson(conversationId: string, query: MessageListQuery, scope: Scope = null): JsonText<MessageListResponse> {
  const { sqlite } = useDatabase()
  const projectId = conversationProject(sqlite, conversationId)
  if (projectId === undefined || !inScope(scope, projectId)) throw notFound(conversationId)
  const params: Params = { conversationId, conversationJson: jsonString(conversationId) }
  const where = ['m.conversation_id = @conversationId']
  if (query.before !== undefined) {
    const at = messagePosition(sqlite, conversationId, query.before, 'before')
    where.push('(m.ts, m.seq) < (@beforeTs, @beforeSeq)')
    params.beforeTs = at.ts
    params.beforeSeq = at.seq
  }
  if (query.after !== undefined) {
    const at = messagePosition(sqlite, conversationId, query.after, 'after')
    where.push('(m.ts, m.seq) > (@afterTs, @afterSeq)')
    params.afterTs = at.ts
    params.afterSeq = at.seq
  }
  const forward = query.after !== undefined
  const order = forward ? 'm.ts ASC, m.seq ASC' : 'm.ts DESC, m.seq DESC'
  const rows = prepared(sqlite, `SELECT ${THREAD_ROW} FROM messages m WHERE ${where.join(' AND ')}
    ORDER BY ${order} LIMIT ${pageLimit(query.limit)}`).pluck().all(params) as string[]
  const hasMore = rows.length > query.limit
  const count = hasMore ? query.limit : rows.length
  let json = '{"messages":['
  // Backwards pages were read newest first: written in reverse, oldest first.
  for (let i = 0; i < count; i++) {
    if (i > 0) json += ','
    json += threadMessageJson(rows[forward ? i : count - 1 - i]!)
  }
  json += `],"has_more":${hasMore}}`
  return new JsonText(json)
}

// ---------------------------------------------------------------------------------------
// Analytics

/** An hour of the day is a peak hour when it carries at least this share of the busiest hour's messages. */
export const PEAK_HOUR_SHARE = 0.75

/**
 * Peak hours from message counts per UTC hour of day (index 0..23): every hour with at
 * least PEAK_HOUR_SHARE of the busiest hour's count, adjacent hours merged into one
 * range (across midnight too), as `HH:00-HH:00` with an exclusive end, sorted by start.
 * E.g. counts peaking at 09 and 10 give `09:00-11:00`. No messages: no peak hours.
 */
export function peakHourRanges(countsByHour: number[]): string[] {
  const max = Math.max(0, ...countsByHour)
  if (max <= 0) return []
  const peak = Array.from({ length: 24 }, (_, h) => (countsByHour[h] ?? 0) > 0 && (countsByHour[h] ?? 0) >= max * PEAK_HOUR_SHARE)
  if (peak.every(Boolean)) return ['00:00-24:00']
  // Start the walk just after a quiet hour, so a range across midnight stays in one piece.
  const quiet = peak.indexOf(false)
  const ranges: { start: number, length: number }[] = []
  for (let i = 1; i <= 24; i++) {
    const h = (quiet + i) % 24
    if (!peak[h]) continue
    const open = ranges.at(-1)
    if (open && (open.start + open.length) % 24 === h) open.length++
    else ranges.push({ start: h, length: 1 })
  }
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`
  return ranges
    .sort((a, b) => a.start - b.start)
    .map(r => `${hh(r.start)}-${r.start + r.length === 24 ? '24:00' : hh((r.start + r.length) % 24)}`)
}

/**
 * Conversation analytics over the stored data, never scanning messages:
 * - conversations (`total_conversations`, `active_conversations`, `top_agents`) from the
 *   conversations table with the list's filters; `since`/`until` select conversations
 *   whose activity overlaps the window (last activity after `since`, started by `until`);
 *   `top_agents` groups by the conversation's agent; its `message_count` is the agent's
 *   messages in the rollups (for an agent's own threads, the messages of those threads);
 * - message figures (`total_messages`, `error_rate`, `avg_response_time`, `peak_hours`)
 *   from the hourly `message_rollups`, so the window is applied at hour granularity (every
 *   hour bucket that overlaps it), and `agent_id` selects the messages attributed to that
 *   agent (the message's `agent_id`, else its sender).
 */
export function conversationAnalytics(query: AnalyticsQuery, scope: Scope = null): Promise<ConversationAnalytics> {
  return cachedRead({
    name: 'conversation_analytics',
    key: [query, scope],
    projects: query.project_id !== undefined ? [query.project_id] : scope,
    compute: () => computeAnalytics(useDatabase().sqlite, query, scope, Date.now()),
  })
}

/** The projects an analytics answer covers: the one asked for, the caller's, or every project (`all`). */
function analyticsProjects(projectId: string | undefined, scope: Scope): string[] | 'all' {
  if (projectId !== undefined) return scope === null || scope.includes(projectId) ? [projectId] : []
  return scope ?? 'all'
}

/** SQL narrowing `column` to the projects (nothing for every project), with its parameters. */
function projectsSql(column: string, projects: string[] | 'all'): { sql: string, params: Params } {
  return projects === 'all' ? { sql: '1', params: {} } : { sql: `${column} IN (SELECT value FROM json_each(@projects))`, params: { projects: JSON.stringify(projects) } }
}

/**
 * Smallest and largest value of an indexed column over the projects: a lookup on the
 * `(project_id, column)` index per project, or on the column's own index (conversations)
 * or a pass over the small table (hourly rollups) for every project; null without rows.
 */
function bounds(sqlite: Sqlite, table: 'conversations' | 'project_hour_rollups', column: 'last_activity' | 'hour', projects: string[] | 'all'): { min: number, max: number } | null {
  return memoByVersion(sqlite, `analytics:bounds:${table}:${JSON.stringify(projects)}`, () => computeBounds(sqlite, table, column, projects))
}

function computeBounds(sqlite: Sqlite, table: 'conversations' | 'project_hour_rollups', column: 'last_activity' | 'hour', projects: string[] | 'all'): { min: number, max: number } | null {
  if (projects === 'all') {
    const row = table === 'conversations'
      ? prepared(sqlite, `SELECT (SELECT last_activity FROM conversations ORDER BY last_activity ASC LIMIT 1) AS lo,
          (SELECT last_activity FROM conversations ORDER BY last_activity DESC LIMIT 1) AS hi`).get() as { lo: number | null, hi: number | null }
      : prepared(sqlite, 'SELECT min(hour) AS lo, max(hour) AS hi FROM project_hour_rollups').get() as { lo: number | null, hi: number | null }
    return row.lo === null || row.hi === null ? null : { min: row.lo, max: row.hi }
  }
  let min: number | null = null
  let max: number | null = null
  const first = prepared(sqlite, `SELECT ${column} AS v FROM ${table} WHERE project_id = ? ORDER BY ${column} ASC LIMIT 1`)
  const last = prepared(sqlite, `SELECT ${column} AS v FROM ${table} WHERE project_id = ? ORDER BY ${column} DESC LIMIT 1`)
  for (const p of projects) {
    const lo = first.get(p) as { v: number } | undefined
    if (!lo) continue
    const hi = last.get(p) as { v: number }
    min = min === null ? lo.v : Math.min(min, lo.v)
    max = max === null ? hi.v : Math.max(max, hi.v)
  }
  return min === null || max === null ? null : { min, max }
}

/**
 * Whether `since < value` and `value <= until` hold for every row within the bounds (the
 * window filters of conversations and rollups); also true when there are no rows.
 */
function windowCovers(window: { since?: number, until?: number }, b: { min: number, max: number } | null): boolean {
  if (b === null) return true
  return (window.since === undefined || window.since < b.min) && (window.until === undefined || window.until >= b.max)
}

/** Agents whose window counts are read per statement while looking for the top 50. */
const AGENT_CHUNK = 64

/**
 * Conversations active after `since` in every project (no agent filter), in total and for the
 * 50 agents with the most, counted exactly on the activity indexes instead of grouping every
 * conversation of the window (tens of thousands) by agent:
 * - agents are visited in order of their all-time count (kept by triggers in
 *   conversation_agent_counts), which bounds their count in any window, each counted on the
 *   (agent_id, last_activity) index from the side of `since` with fewer conversations (split
 *   at the median activity, remembered until the store changes): those before it, taken off
 *   the all-time count, or those after. Once 50 agents count at least the next agent's
 *   all-time count, no later agent can enter the top 50 (on a tie the smaller id, visited
 *   first, stays), so the visit stops there;
 * - the total is the agents' counts plus the conversations without an agent when every agent
 *   was visited, else a count on the activity index from the same side.
 * Same answer as `count(*) … GROUP BY agent_id ORDER BY count DESC, agent_id LIMIT 50`.
 */
export function windowConversations(sqlite: Sqlite, since: number): { total: number, agentConversations: { agent_id: string, conversation_count: number }[] } {
  const { all, agents, withoutAgent } = memoByVersion(sqlite, 'analytics:agent-bounds', () => {
    const all = (prepared(sqlite, 'SELECT coalesce(sum(conversations), 0) FROM conversation_agent_counts', true).get() as [number])[0]
    const agents = prepared(sqlite, `SELECT agent_id, sum(conversations) AS n FROM conversation_agent_counts WHERE agent_id <> ''
      GROUP BY agent_id HAVING n > 0 ORDER BY n DESC, agent_id ASC`, true).all() as [agentId: string, conversations: number][]
    return { all, agents, withoutAgent: agents.reduce((n, a) => n - a[1], all) }
  })
  // Which side of `since` holds fewer conversations: the median activity, kept with the totals.
  const median = memoByVersion(sqlite, 'analytics:activity-median', () =>
    (prepared(sqlite, 'SELECT last_activity FROM conversations ORDER BY last_activity LIMIT 1 OFFSET ?', true).get(Math.floor(all / 2)) as [number] | undefined)?.[0] ?? 0)
  const fromBefore = since < median
  const side = fromBefore ? '<=' : '>'
  const count = prepared(sqlite, `SELECT (SELECT count(*) FROM conversations c WHERE c.agent_id = j.value AND c.last_activity ${side} @since)
    FROM json_each(@agents) j ORDER BY j.key`, true)
  type Ranked = { agent_id: string, conversation_count: number }
  const top: Ranked[] = []
  // The answer's order: more conversations first, then agent_id in SQLite's BINARY order.
  const before50 = (a: Ranked, b: Ranked) => a.conversation_count > b.conversation_count
    || (a.conversation_count === b.conversation_count && binaryOrder(a.agent_id, b.agent_id) < 0)
  let counted = 0
  let visitedAll = true
  for (let from = 0; from < agents.length; from += AGENT_CHUNK) {
    // The next agent counts at most its all-time count, and those after it no more (equal ones come in id order).
    if (top.length >= 50 && !before50({ agent_id: agents[from]![0], conversation_count: agents[from]![1] }, top[49]!)) {
      visitedAll = false
      break
    }
    const chunk = agents.slice(from, from + AGENT_CHUNK)
    const counts = count.all({ since, agents: JSON.stringify(chunk.map(a => a[0])) }) as [number][]
    for (let i = 0; i < chunk.length; i++) {
      const [agentId, allTime] = chunk[i]!
      const entry = { agent_id: agentId, conversation_count: fromBefore ? allTime - counts[i]![0] : counts[i]![0] }
      counted += entry.conversation_count
      if (entry.conversation_count <= 0 || (top.length >= 50 && !before50(entry, top[49]!))) continue
      let at = top.length
      while (at > 0 && before50(entry, top[at - 1]!)) at--
      top.splice(at, 0, entry)
      if (top.length > 50) top.length = 50
    }
  }
  let total: number
  if (visitedAll) {
    const none = (prepared(sqlite, `SELECT count(*) FROM conversations WHERE agent_id IS NULL AND last_activity ${side} ?`, true).get(since) as [number])[0]
    total = counted + (fromBefore ? withoutAgent - none : none)
  }
  else {
    const n = (prepared(sqlite, `SELECT count(*) FROM conversations WHERE last_activity ${side} ?`, true).get(since) as [number])[0]
    total = fromBefore ? all - n : n
  }
  return { total, agentConversations: top }
}

/** SQLite's BINARY collation on text (UTF-8 bytes, which is code point order; JS `<` compares UTF-16 units). */
export function binaryOrder(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(i)!
    if (x !== y) return x < y ? -1 : 1
    if (x > 0xFFFF) i++
  }
  return a.length - b.length
}

/**
 * Cached answers are invalidated by every ingest that touches their projects (server/utils/cache.ts),
 * so without writes only time changes them: `active_conversations` drops when the oldest
 * active conversation turns idle, so the answer is kept until then (at most CACHE_TTL_S).
 */
function computeAnalytics(sqlite: Sqlite, query: AnalyticsQuery, scope: Scope, now: number): Computed<ConversationAnalytics> {
  const idleMs = useConfig().conversationIdleMs

  const params: Params = {}
  const where = conversationWhere({ projectId: query.project_id, agentId: query.agent_id, since: query.since, until: query.until, scope }, params)
  // One lower bound on last_activity: given `since` and the idle threshold as two ranges,
  // SQLite walks the activity index from the lower of them (all of it for an early `since`).
  const activeParams: Params = {}
  const activeWhere = conversationWhere({ projectId: query.project_id, agentId: query.agent_id, until: query.until, scope }, activeParams)
  activeParams.activeFrom = query.since === undefined ? now - idleMs : Math.max(now - idleMs, query.since + 1)
  const { n: active, oldest } = prepared(sqlite, `SELECT count(*) AS n, min(c.last_activity) AS oldest FROM conversations c
    ${whereSql([...activeWhere, 'c.last_activity >= @activeFrom', 'c.closed_at IS NULL'])}`)
    .get(activeParams) as { n: number, oldest: number | null }

  // Without an agent filter, and for a window that holds every conversation (or every
  // rollup hour) of the projects, the answer over the window is the all-time answer: read
  // the per-agent totals instead of counting conversations or summing hourly rows.
  const projects = query.agent_id === undefined ? analyticsProjects(query.project_id, scope) : null
  const conversationsCovered = projects !== null && windowCovers(query, bounds(sqlite, 'conversations', 'last_activity', projects))
  const rollupsCovered = projects !== null && windowCovers({ since: query.since === undefined ? undefined : query.since - HOUR, until: query.until }, bounds(sqlite, 'project_hour_rollups', 'hour', projects))

  let total: number
  let agentConversations: { agent_id: string, conversation_count: number }[]
  if (conversationsCovered && projects !== null) {
    // All-time figures of the projects: the same until the store changes (never mutated below).
    ({ total, agentConversations } = memoByVersion(sqlite, `analytics:conversations:${JSON.stringify(projects)}`, () => {
      const inProjects = projectsSql('project_id', projects)
      return {
        total: (prepared(sqlite, `SELECT coalesce(sum(conversations), 0) AS n FROM conversation_agent_counts
          WHERE ${inProjects.sql}`).get(inProjects.params) as { n: number }).n,
        agentConversations: prepared(sqlite, `SELECT agent_id, sum(conversations) AS conversation_count FROM conversation_agent_counts
          WHERE ${inProjects.sql} AND agent_id <> '' GROUP BY agent_id HAVING conversation_count > 0
          ORDER BY conversation_count DESC, agent_id ASC LIMIT 50`).all(inProjects.params) as { agent_id: string, conversation_count: number }[],
      }
    }))
  }
  else if (projects === 'all' && query.since !== undefined && query.until === undefined) {
    ({ total, agentConversations } = windowConversations(sqlite, query.since))
  }
  else {
    total = (prepared(sqlite, `SELECT count(*) AS n FROM conversations c ${whereSql(where)}`).get(params) as { n: number }).n
    // Conversation counts come from an index alone; message counts from the rollups below.
    agentConversations = prepared(sqlite, `SELECT c.agent_id, count(*) AS conversation_count
      FROM conversations c ${whereSql([...where, 'c.agent_id IS NOT NULL'])}
      GROUP BY c.agent_id ORDER BY conversation_count DESC, c.agent_id ASC LIMIT 50`)
      .all(params) as { agent_id: string, conversation_count: number }[]
  }

  const rollupParams: Params = {}
  const rollupWhere: string[] = scopeSql('r.project_id', scope, rollupParams)
  if (query.project_id !== undefined) {
    rollupWhere.push('r.project_id = @projectId')
    rollupParams.projectId = query.project_id
  }
  if (query.agent_id !== undefined) {
    rollupWhere.push('r.agent_id = @agentId')
    rollupParams.agentId = query.agent_id
  }
  // The projects' and the agent's rows, before any window.
  const allHours = [...rollupWhere]
  if (query.since !== undefined) {
    rollupWhere.push('r.hour > @sinceHour')
    rollupParams.sinceHour = query.since - HOUR
  }
  if (query.until !== undefined) {
    rollupWhere.push('r.hour <= @until')
    rollupParams.until = query.until
  }
  // A window that starts nearer the first rollup hour than the last reads the hours before it
  // and takes them off the all-time figures: the fewer rows either way.
  const sinceHour = (query.since ?? 0) - HOUR
  const hourBounds = projects !== null && query.since !== undefined && query.until === undefined && !rollupsCovered
    ? bounds(sqlite, 'project_hour_rollups', 'hour', projects)
    : null
  const fromBefore = hourBounds !== null && sinceHour - hourBounds.min < hourBounds.max - sinceHour
  const agentMessages = new Map<string, number>()
  // Message counts decide only among agents with as many conversations as the tenth: the others
  // are shown whatever their messages, or not at all.
  const tenth = [...agentConversations].sort((a, b) => b.conversation_count - a.conversation_count)[9]?.conversation_count ?? 0
  const shown = agentConversations.filter(a => a.conversation_count >= tenth)
  if (shown.length) {
    const names = shown.map((_, i) => `@a${i}`).join(', ')
    const agentParams: Params = {}
    shown.forEach((a, i) => (agentParams[`a${i}`] = a.agent_id))
    const inProjects = projects === null ? undefined : projectsSql('project_id', projects)
    type AgentMessages = { agent_id: string, messages: number }[]
    const totals = (inProjects: { sql: string, params: Params }) => prepared(sqlite, `SELECT agent_id, sum(messages) AS messages FROM agent_message_totals
      WHERE agent_id IN (${names}) AND ${inProjects.sql} GROUP BY agent_id`).all({ ...agentParams, ...inProjects.params }) as AgentMessages
    if (rollupsCovered && inProjects) {
      for (const r of memoByVersion(sqlite, `analytics:agent-messages:${JSON.stringify(projects)}:${JSON.stringify(agentParams)}`, () => totals(inProjects))) agentMessages.set(r.agent_id, r.messages)
    }
    else if (projects !== null) {
      // The window's hours of each agent in each project: the running total up to the window's
      // end less the running total before its start, one look-up each (not a row per hour).
      const inTotals = projectsSql('t.project_id', projects)
      const upTo = (param: string) => `coalesce((SELECT r.messages FROM agent_message_running r WHERE r.project_id = t.project_id
        AND r.agent_id = t.agent_id AND r.hour <= @${param} ORDER BY r.hour DESC LIMIT 1), 0)`
      const windowParams: Params = { ...agentParams, ...inTotals.params }
      if (query.since !== undefined) windowParams.sinceHour = query.since - HOUR
      if (query.until !== undefined) windowParams.until = query.until
      const rows = prepared(sqlite, `SELECT t.agent_id, sum(${query.until === undefined ? 't.messages' : upTo('until')}${query.since === undefined ? '' : ` - ${upTo('sinceHour')}`}) AS messages
        FROM agent_message_totals t WHERE t.agent_id IN (${names}) AND ${inTotals.sql} GROUP BY t.agent_id`).all(windowParams) as AgentMessages
      for (const r of rows) agentMessages.set(r.agent_id, r.messages)
    }
    else {
      const rows = prepared(sqlite, `SELECT r.agent_id, sum(r.messages) AS messages FROM message_rollups r
        ${whereSql([...rollupWhere, `r.agent_id IN (${names})`])} GROUP BY r.agent_id`).all({ ...rollupParams, ...agentParams }) as AgentMessages
      for (const r of rows) agentMessages.set(r.agent_id, r.messages)
    }
  }
  const topAgents = agentConversations
    .map(a => ({ agent_id: a.agent_id, conversation_count: a.conversation_count, message_count: agentMessages.get(a.agent_id) ?? 0 }))
    .sort((a, b) => b.conversation_count - a.conversation_count || b.message_count - a.message_count || a.agent_id.localeCompare(b.agent_id))
    .slice(0, 10)

  // Without an agent filter the hours of the projects suffice: the rollup without the agent.
  // A window holding every rollup hour of the projects reads all of their hours: an all-time
  // figure, the same until the store changes.
  type HourRow = { hour_of_day: number, messages: number, errors: number, responses: number, response_ms: number }
  const hourSql = (table: string, where: string[]) => `SELECT (r.hour % ${DAY}) / ${HOUR} AS hour_of_day, sum(r.messages) AS messages,
    sum(r.errors) AS errors, sum(r.responses) AS responses, sum(r.response_ms_sum) AS response_ms
    FROM ${table} r ${whereSql(where)} GROUP BY hour_of_day`
  const allTimeHours = (projects: string[] | 'all') => memoByVersion(sqlite, `analytics:hours:${JSON.stringify(projects)}`, () => {
    const inProjects = projectsSql('r.project_id', projects)
    return prepared(sqlite, hourSql('project_hour_rollups', [inProjects.sql])).all(inProjects.params) as HourRow[]
  })
  let byHour: HourRow[]
  if (rollupsCovered && projects !== null) byHour = allTimeHours(projects)
  else if (fromBefore && projects !== null) {
    const before = new Map((prepared(sqlite, hourSql('project_hour_rollups', [...allHours, 'r.hour <= @sinceHour'])).all(rollupParams) as HourRow[])
      .map(h => [h.hour_of_day, h]))
    byHour = allTimeHours(projects).map((h) => {
      const b = before.get(h.hour_of_day)
      return b === undefined
        ? h
        : { hour_of_day: h.hour_of_day, messages: h.messages - b.messages, errors: h.errors - b.errors, responses: h.responses - b.responses, response_ms: h.response_ms - b.response_ms }
    })
  }
  else byHour = prepared(sqlite, hourSql(query.agent_id === undefined ? 'project_hour_rollups' : 'message_rollups', rollupWhere)).all(rollupParams) as HourRow[]

  const counts = Array.from<number>({ length: 24 }).fill(0)
  let messages = 0
  let errors = 0
  let responses = 0
  let responseMs = 0
  for (const h of byHour) {
    counts[h.hour_of_day] = h.messages
    messages += h.messages
    errors += h.errors
    responses += h.responses
    responseMs += h.response_ms
  }
  const value: ConversationAnalytics = {
    total_conversations: total,
    active_conversations: active,
    avg_response_time: responses > 0 ? round(responseMs / responses / 1000, 3) : null,
    peak_hours: peakHourRanges(counts),
    top_agents: topAgents,
    error_rate: messages > 0 ? round(errors / messages, 4) : null,
    total_messages: messages,
  }
  // Still true until the oldest active conversation passes the idle threshold.
  return { value, maxAgeSeconds: oldest === null ? undefined : (oldest + idleMs - now) / 1000 }
}

// ---------------------------------------------------------------------------------------
// Search

/** Scripts written without spaces between words: unicode61 cannot split them into words. */
const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u
const MAX_TERMS = 16
/** Substring search reads at most this many of the newest messages matching the filters. */
export const SUBSTRING_SCAN_ROWS = 100_000
// Private-use characters as snippet() markers: the snippet is HTML-escaped first, then they become <mark>.
const MARK_OPEN = '\uE000'
const MARK_CLOSE = '\uE001'

function searchTerms(q: string): { text: string, prefix: boolean }[] {
  return q.normalize('NFC').split(/\s+/).filter(Boolean).slice(0, MAX_TERMS).map(raw => ({
    text: raw.replace(/\*+$/, ''),
    prefix: /[^*]\*+$/.test(raw),
  })).filter(t => /[\p{L}\p{N}]/u.test(t.text))
}

/**
 * Spellings of a word the index may hold differently: without diacritics (the tokenizer
 * folds Latin diacritics, not Greek tonos) and German ß/ss (`Größe` is indexed `große`,
 * `Grösse` as `grosse`).
 */
function spellings(word: string): string[] {
  const lower = word.toLowerCase()
  const out = new Set([lower, lower.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC')])
  for (const w of [...out]) {
    if (w.includes('ß')) out.add(w.replaceAll('ß', 'ss'))
    if (w.includes('ss')) out.add(w.replaceAll('ss', 'ß'))
  }
  return [...out]
}

/**
 * The FTS5 query for user text, which is never passed raw to MATCH: every word becomes a
 * quoted phrase (inner `"` doubled) so FTS syntax (`AND`, `NEAR(`, `:`, `^`, `-`) is plain
 * text; a trailing `*` makes it a prefix phrase; spelling variants are OR-ed; words are
 * AND-ed. Null when no word has a letter or digit.
 */
export function ftsQuery(q: string): string | null {
  const parts = searchTerms(q).map((term) => {
    const phrases = spellings(term.text).map(s => `"${s.replaceAll('"', '""')}"${term.prefix ? '*' : ''}`)
    return phrases.length === 1 ? phrases[0]! : `(${phrases.join(' OR ')})`
  })
  return parts.length ? parts.join(' AND ') : null
}

export function needsSubstringSearch(q: string): boolean {
  return UNSPACED_SCRIPT.test(q)
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}

function markSnippet(raw: string): string {
  return escapeHtml(raw).replaceAll(MARK_OPEN, '<mark>').replaceAll(MARK_CLOSE, '</mark>')
}

/** The substring-mode snippet: a window around the first match, escaped, matches marked. */
export function substringSnippet(content: string, terms: string[], radius = 40): string {
  const lower = content.toLowerCase()
  const needles = terms.map(t => t.toLowerCase()).filter(Boolean)
  const first = Math.min(...needles.map(n => lower.indexOf(n)).filter(i => i >= 0), content.length)
  const start = Math.max(0, first - radius)
  const end = Math.min(content.length, first + radius * 2)
  let out = ''
  let i = start
  while (i < end) {
    const hit = needles.find(n => lower.startsWith(n, i))
    if (hit) {
      out += `<mark>${escapeHtml(content.slice(i, i + hit.length))}</mark>`
      i += hit.length
    }
    else {
      out += escapeHtml(content[i]!)
      i++
    }
  }
  return `${start > 0 ? '…' : ''}${out}${end < content.length ? '…' : ''}`
}

function searchFilters(query: SearchQuery, scope: Scope, params: Params): string[] {
  const where: string[] = scopeSql('m.project_id', scope, params)
  if (query.project_id !== undefined) {
    where.push('m.project_id = @projectId')
    params.projectId = query.project_id
  }
  if (query.conversation_id !== undefined) {
    where.push('m.conversation_id = @conversationId')
    params.conversationId = query.conversation_id
  }
  if (query.agent_id !== undefined) {
    where.push('(m.sender = @agentId OR m.recipient = @agentId)')
    params.agentId = query.agent_id
  }
  if (query.since !== undefined) {
    where.push('m.ts > @since')
    params.since = query.since
  }
  return where
}

/**
 * Full-text search reads at most this many matches, the newest: counting or ranking every
 * match of a very common word costs a row look-up per match (`partial` says when it stopped).
 */
export const SEARCH_MATCH_WINDOW = 50_000
/** Up to this many messages, a conversation is searched by probing the index per message rather than by walking all matches. */
const PROBE_CONVERSATION_MAX = 200

/**
 * Full-text search over message content. Words are matched by FTS5 (unicode61: case and
 * Latin diacritics folded). Order: `recent` (default) is newest first by arrival (the
 * message's seq, which is also the FTS rowid, so matches stream from the index in that
 * order); `relevance` is FTS5 bm25, then newest first. Both read the newest
 * SEARCH_MATCH_WINDOW matches of the words (`partial` when there are more), so a word in
 * every other message costs the same as a rare one. Queries in scripts without spaces
 * (Chinese, Japanese, Thai, …) fall back to a substring scan bounded by the filters and
 * SUBSTRING_SCAN_ROWS, newest first.
 */
export function searchMessages(query: SearchQuery, scope: Scope = null): MessageSearchResponse {
  if (needsSubstringSearch(query.q)) return substringSearch(query, scope)
  // The index is filled in batches after ingest: catch up first so no stored message is missed.
  indexPendingMessages()
  return fullTextSearch(query, scope)
}

function fullTextSearch(query: SearchQuery, scope: Scope): MessageSearchResponse {
  const match = ftsQuery(query.q)
  if (match === null) {
    throw apiError('VALIDATION_FAILED', 'q has no word to search for (letters or digits)', { issues: [{ path: 'q', message: 'no searchable word' }] })
  }
  const { sqlite } = useDatabase()
  const params: Params = { match }
  const filters = searchFilters(query, scope, params)
  const relevance = query.sort === 'relevance'
  const conversation = query.conversation_id === undefined ? undefined : conversationRow(sqlite, query.conversation_id)

  let from: string
  let count: string
  let order: string
  if (filters.length === 0) {
    // Nothing to check on the message: the matches are the answer, in rowid (= seq) order,
    // counted and paged on the full-text index alone.
    params.window = SEARCH_MATCH_WINDOW
    from = `(SELECT messages_fts.rowid AS seq${relevance ? ', bm25(messages_fts) AS score' : ''} FROM messages_fts
      WHERE messages_fts MATCH @match ORDER BY messages_fts.rowid DESC LIMIT @window) f`
    count = `SELECT count(*) AS examined, count(*) AS n FROM ${from}`
    order = relevance ? 'f.score, f.seq DESC' : 'f.seq DESC'
  }
  else if (conversation === undefined || conversation[C_MESSAGE_COUNT] > PROBE_CONVERSATION_MAX) {
    // Walk the newest matches, look each message up, keep those passing the filters.
    params.window = SEARCH_MATCH_WINDOW
    from = `(SELECT messages_fts.rowid AS seq${relevance ? ', bm25(messages_fts) AS score' : ''} FROM messages_fts
      WHERE messages_fts MATCH @match ORDER BY messages_fts.rowid DESC LIMIT @window) f JOIN messages m ON m.seq = f.seq`
    count = `SELECT count(*) AS examined, coalesce(sum(${filters.length ? `CASE WHEN ${filters.join(' AND ')} THEN 1 ELSE 0 END` : '1'}), 0) AS n FROM ${from}`
    order = relevance ? 'f.score, f.seq DESC' : 'f.seq DESC'
  }
  else {
    // A small conversation: walk its messages and probe the full-text index for each.
    from = 'messages m CROSS JOIN messages_fts ON messages_fts.rowid = m.seq'
    filters.unshift('messages_fts MATCH @match')
    count = `SELECT 0 AS examined, count(*) AS n FROM ${from} WHERE ${filters.join(' AND ')}`
    order = relevance ? 'bm25(messages_fts), m.seq DESC' : 'm.seq DESC'
  }
  // Like a list's total, remembered until the store changes: paging through the results asks again.
  const counted = memoByVersion(sqlite, `search:${count}\u0000${JSON.stringify(params)}`, () => prepared(sqlite, count).get(params) as { examined: number, n: number })
  const partial = counted.examined >= SEARCH_MATCH_WINDOW
  if (filters.length === 0 && !relevance && query.offset + query.limit + 1 <= SEARCH_MATCH_WINDOW) {
    // Newest first with nothing to check on the message: the matches stream from the index in
    // rowid (= seq) order, so one pass with the index as the outer loop reads the page, its
    // messages and their snippets (computed only for the rows returned, after the offset).
    const rows = counted.n === 0
      ? []
      : prepared(sqlite, `SELECT ${MESSAGE_COLUMNS}, snippet(messages_fts, 0, '${MARK_OPEN}', '${MARK_CLOSE}', '…', 16) AS snippet
          FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid WHERE messages_fts MATCH @match
          ORDER BY messages_fts.rowid DESC LIMIT @limit OFFSET @offset`)
        .all({ match, limit: query.limit + 1, offset: query.offset }) as (MessageRow & { snippet: string })[]
    const hasMore = rows.length > query.limit
    if (hasMore) rows.length = query.limit
    const results = rows.map(r => ({ message: toMessage(r), conversation_id: r.conversation_id, snippet: markSnippet(r.snippet) }))
    return { results, total: counted.n, has_more: hasMore, mode: 'fulltext', partial }
  }
  const page = counted.n === 0
    ? []
    : prepared(sqlite, `SELECT ${filters.length ? 'm.seq' : 'f.seq'} FROM ${from} ${whereSql(filters)} ORDER BY ${order} LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: query.limit + 1, offset: query.offset }) as { seq: number }[]
  const hasMore = page.length > query.limit
  if (hasMore) page.length = query.limit
  // Snippets for the page only. FTS5 evaluates the query once per rowid it is given (loading
  // the words' doclists each time, and for a prefix re-merging every word with it), so the page
  // gets one pass over its rowid range instead (`+` keeps the IN list from becoming the index
  // constraint): about four times cheaper for a page of 20.
  const seqs = page.map(p => p.seq)
  const rows = !page.length
    ? []
    : prepared(sqlite, `SELECT ${MESSAGE_COLUMNS}, snippet(messages_fts, 0, '${MARK_OPEN}', '${MARK_CLOSE}', '…', 16) AS snippet
        FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid WHERE messages_fts MATCH @match
        AND messages_fts.rowid BETWEEN @low AND @high AND +messages_fts.rowid IN (SELECT value FROM json_each(@seqs))`)
      .all({ match, seqs: JSON.stringify(seqs), low: Math.min(...seqs), high: Math.max(...seqs) }) as (MessageRow & { snippet: string })[]
  const bySeq = new Map(rows.map(r => [r.seq, r]))
  const results: MessageSearchResult[] = []
  for (const { seq } of page) {
    const row = bySeq.get(seq)
    if (row) results.push({ message: toMessage(row), conversation_id: row.conversation_id, snippet: markSnippet(row.snippet) })
  }
  return { results, total: counted.n, has_more: hasMore, mode: 'fulltext', partial }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, c => `\\${c}`)
}

function substringSearch(query: SearchQuery, scope: Scope): MessageSearchResponse {
  const { sqlite } = useDatabase()
  const terms = query.q.normalize('NFC').split(/\s+/).map(t => t.replace(/\*+$/, '')).filter(Boolean).slice(0, MAX_TERMS)
  const params: Params = { window: SUBSTRING_SCAN_ROWS }
  const filters = searchFilters(query, scope, params)
  // The scanned window: the newest messages matching the filters. Within one conversation the
  // (conversation_id, ts, seq) index yields them; otherwise the newest by arrival (rowid),
  // bounded by a rowid range so that a filter matching few rows cannot scan the whole table.
  let window: string
  let partial: boolean
  if (query.conversation_id !== undefined) {
    window = `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE ${filters.join(' AND ')} ORDER BY m.ts DESC, m.seq DESC LIMIT @window`
    const scanned = (prepared(sqlite, `SELECT count(*) AS n FROM (SELECT 1 FROM messages m WHERE ${filters.join(' AND ')} LIMIT @window + 1)`)
      .get(params) as { n: number }).n
    partial = scanned > SUBSTRING_SCAN_ROWS
  }
  else {
    const maxSeq = (prepared(sqlite, 'SELECT coalesce(max(seq), 0) AS n FROM messages').get() as { n: number }).n
    window = `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE ${['m.seq > @minSeq', ...filters].join(' AND ')}`
    params.minSeq = maxSeq - SUBSTRING_SCAN_ROWS
    partial = maxSeq > SUBSTRING_SCAN_ROWS
  }
  const like = terms.map((t, i) => {
    params[`t${i}`] = `%${escapeLike(t)}%`
    return `w.content LIKE @t${i} ESCAPE '\\'`
  })
  const matches = `FROM (${window}) w WHERE ${like.join(' AND ')}`
  const total = (prepared(sqlite, `SELECT count(*) AS n ${matches}`).get(params) as { n: number }).n
  const rows = prepared(sqlite, `SELECT w.* ${matches} ORDER BY w.seq DESC LIMIT @limit OFFSET @offset`)
    .all({ ...params, limit: query.limit + 1, offset: query.offset }) as MessageRow[]
  const hasMore = rows.length > query.limit
  if (hasMore) rows.length = query.limit
  return {
    results: rows.map(r => ({ message: toMessage(r), conversation_id: r.conversation_id, snippet: substringSnippet(r.content, terms) })),
    total,
    has_more: hasMore,
    mode: 'substring',
    partial,
  }
}

// ---------------------------------------------------------------------------------------
