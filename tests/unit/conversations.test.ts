import type { Statement } from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyticsQuery, conversationListQuery, messageListQuery, searchQuery } from '../../shared/conversations'
import {
  binaryOrder, conversationAnalytics, decodeCursor, encodeCursor, ftsQuery, getConversation, getConversationsBatch, isoTime, windowConversations,
  listConversations, listConversationsJson, listMessages, listMessagesJson, needsSubstringSearch, peakHourRanges, searchMessages, substringSnippet,
} from '../../server/utils/conversations'
import { closeDatabase, openDatabase, setDatabase, type Sqlite } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'
import { storeVersion } from '../../server/utils/store-version'
import { validated } from '../../server/utils/validation'

const T = Date.UTC(2025, 6, 14, 9, 0, 0)
const MIN = 60_000
const DAY = 24 * 60 * MIN

/** A message event; the fixture's conversations are named, their agent given explicitly as Marcus does. */
function msg(id: string, conversation: string, agent: string, at: number, sender: string, recipient: string, content: string, extra: Record<string, unknown> = {}) {
  return { kind: 'message', id, message_id: id, conversation_id: conversation, agent_id: agent, ts: at, sender, recipient, content, message_type: 'message', ...extra }
}

/**
 * Three conversations in two projects. Response pairs: a2 answers a1 after 2000 ms, a4 answers
 * a3 after 4500 ms, b2 answers b1 (in_reply_to) after 6000 ms. Messages per UTC hour:
 * 09 → 4, 10 → 3, 14 → 3. One error (a4).
 */
const fixture = [
  msg('a1', 'c1', 'agent_a', T, 'user', 'agent_a', 'Please analyse the login flow', { message_type: 'request', project_id: 'alpha', conversation_title: 'Login bug' }),
  msg('a2', 'c1', 'agent_a', T + 2000, 'agent_a', 'user', 'Analysis complete. Found 3 issues.', { message_type: 'response', project_id: 'alpha', metadata: { tool_calls: ['analyze_code'] } }),
  msg('a3', 'c1', 'agent_a', T + 30 * MIN, 'user', 'agent_a', 'Fix them please', { message_type: 'request', project_id: 'alpha' }),
  msg('a4', 'c1', 'agent_a', T + 30 * MIN + 4500, 'agent_a', 'user', 'Build failed: timeout', { message_type: 'error', project_id: 'alpha' }),
  msg('b1', 'c2', 'agent_b', T + 60 * MIN, 'marcus', 'agent_b', 'Start task T-1 payment', { message_type: 'request', project_id: 'alpha' }),
  msg('b2', 'c2', 'agent_b', T + 60 * MIN + 6000, 'agent_b', 'marcus', 'Working on the payment API', { message_type: 'response', project_id: 'alpha', in_reply_to: 'b1' }),
  msg('b3', 'c2', 'agent_b', T + 80 * MIN, 'agent_b', 'marcus', 'Größe der Datei geprüft', { project_id: 'alpha' }),
  msg('g1', 'c3', 'agent_a', T + 300 * MIN, 'agent_a', 'marcus', 'привет мир, καλημέρα κόσμε', { project_id: 'beta' }),
  msg('g2', 'c3', 'agent_a', T + 305 * MIN, 'agent_a', 'marcus', 'Le café est très fort', { project_id: 'beta' }),
  msg('g3', 'c3', 'agent_a', T + 310 * MIN, 'agent_a', 'marcus', '这是一个测试消息 日本語のテキストです <b>bold</b>', { project_id: 'beta' }),
]

const L = (q: Record<string, string | undefined> = {}) => conversationListQuery.parse(q)
const S = (q: Record<string, string | undefined>) => searchQuery.parse(q)

let sqlite: Sqlite
let main: ReturnType<typeof openDatabase>
const preparedSql = new Set<string>()

beforeAll(() => {
  const opened = openDatabase(':memory:')
  main = opened
  sqlite = opened.sqlite
  // Record every statement the module prepares, to read their query plans afterwards.
  const prepare = sqlite.prepare.bind(sqlite)
  sqlite.prepare = ((source: string) => {
    preparedSql.add(source)
    return prepare(source)
  }) as typeof sqlite.prepare
  setDatabase(opened)
  const outcome = ingest(fixture, 'test')
  expect(outcome.rejected).toBe(0)
})

afterAll(() => closeDatabase())

describe('peak hours', () => {
  const counts = (entries: Record<number, number>) => Array.from({ length: 24 }, (_, h) => entries[h] ?? 0)

  it('has none without messages', () => {
    expect(peakHourRanges(counts({}))).toEqual([])
  })

  it('merges adjacent busy hours into ranges with an exclusive end', () => {
    expect(peakHourRanges(counts({ 9: 10, 10: 8, 12: 2, 14: 9, 15: 10 }))).toEqual(['09:00-11:00', '14:00-16:00'])
  })

  it('keeps hours with at least three quarters of the busiest hour', () => {
    expect(peakHourRanges(counts({ 9: 4, 10: 3, 14: 3, 16: 2 }))).toEqual(['09:00-11:00', '14:00-15:00'])
    expect(peakHourRanges(counts({ 9: 100, 10: 74 }))).toEqual(['09:00-10:00'])
  })

  it('joins a range across midnight and ends the day at 24:00', () => {
    expect(peakHourRanges(counts({ 22: 5, 23: 5, 0: 5, 5: 1 }))).toEqual(['22:00-01:00'])
    expect(peakHourRanges(counts({ 23: 5 }))).toEqual(['23:00-24:00'])
    expect(peakHourRanges(Array.from({ length: 24 }, () => 3))).toEqual(['00:00-24:00'])
  })
})

describe('search query building', () => {
  it('quotes every word as a phrase so FTS syntax is plain text', () => {
    expect(ftsQuery('AND OR NEAR(')).toBe('"and" AND "or" AND "near("')
    expect(ftsQuery('say"hi content:x')).toBe('"say""hi" AND "content:x"')
  })

  it('turns a trailing * into a prefix phrase and drops words without letters or digits', () => {
    expect(ftsQuery('pay*')).toBe('"pay"*')
    expect(ftsQuery('* " : ( -')).toBeNull()
  })

  it('adds German ß/ss and diacritic-free spellings', () => {
    expect(ftsQuery('Größe')).toBe('("größe" OR "große" OR "grösse" OR "grosse")')
    expect(ftsQuery('grosse')).toBe('("grosse" OR "große")')
    expect(ftsQuery('καλημέρα')).toBe('("καλημέρα" OR "καλημερα")')
  })

  it('detects scripts written without spaces', () => {
    expect(needsSubstringSearch('测试')).toBe(true)
    expect(needsSubstringSearch('テキスト')).toBe(true)
    expect(needsSubstringSearch('привет café')).toBe(false)
  })

  it('builds HTML-safe substring snippets', () => {
    expect(substringSnippet('<i>测试</i> ok', ['测试'])).toBe('&#60;i&#62;<mark>测试</mark>&#60;/i&#62; ok')
  })
})

describe('cursors and input', () => {
  it('round-trips a cursor and refuses a forged one', () => {
    expect(decodeCursor(encodeCursor(123, 'conv:1'))).toEqual({ lastActivity: 123, id: 'conv:1' })
    for (const bad of ['nope!', Buffer.from('[1]').toString('base64url'), Buffer.from('["a","b"]').toString('base64url'), 'e30']) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ statusCode: 400, data: expect.objectContaining({ code: 'INVALID_CURSOR' }) }))
    }
  })

  it('reports invalid query values as VALIDATION_FAILED with the issues', () => {
    for (const q of [{ limit: 'abc' }, { limit: '0' }, { limit: '201' }, { offset: '-1' }, { since: 'yesterday' }, { limit: '1.5' }]) {
      expect(() => validated(conversationListQuery, q, 'query')).toThrow(expect.objectContaining({
        statusCode: 400, data: expect.objectContaining({ code: 'VALIDATION_FAILED', details: { issues: expect.any(Array) } }),
      }))
    }
    expect(validated(conversationListQuery, { since: '2025-07-14T10:00:00Z' }, 'query').since).toBe(Date.UTC(2025, 6, 14, 10))
    expect(validated(conversationListQuery, { since: String(T) }, 'query').since).toBe(T)
  })
})

describe('conversations', () => {
  it('lists newest activity first with derived fields', () => {
    const page = listConversations(L())
    expect(page.total).toBe(3)
    expect(page.has_more).toBe(false)
    expect(page.next_cursor).toBeNull()
    expect(page.conversations.map(c => c.id)).toEqual(['c3', 'c2', 'c1'])
    expect(page.conversations[2]).toEqual({
      id: 'c1', agent_id: 'agent_a', project_id: 'alpha', started_at: '2025-07-14T09:00:00.000Z', status: 'idle',
      message_count: 4, last_activity: '2025-07-14T09:30:04.500Z', participants: ['user', 'agent_a'], type: 'direct',
      title: 'Login bug', error_count: 1,
    })
  })

  it('filters by project, participant and time', () => {
    expect(listConversations(L({ project_id: 'alpha' })).conversations.map(c => c.id)).toEqual(['c2', 'c1'])
    expect(listConversations(L({ agent_id: 'user' })).conversations.map(c => c.id)).toEqual(['c1'])
    expect(listConversations(L({ agent_id: 'marcus', project_id: 'alpha' })).total).toBe(1)
    expect(listConversations(L({ since: '2025-07-14T09:45:00Z' })).conversations.map(c => c.id)).toEqual(['c3', 'c2'])
  })

  it('pages an agent that takes part in most conversations the same way as one in few', () => {
    // Marcus is in every one of these: the list probes the activity index instead of sorting his conversations.
    ingest(Array.from({ length: 12 }, (_, i) => msg(`k${i}`, `k${i}`, `agent_k${i % 3}`, Date.UTC(2024, 0, 1) - (i % 4) * MIN, 'marcus', `agent_k${i % 3}`, 'coordinate', { project_id: 'coord' })), 'test')
    for (const filter of [{ agent_id: 'marcus', project_id: 'coord' }, { agent_id: 'marcus' }, { agent_id: 'agent_k1' }]) {
      const all = listConversations(L({ ...filter, limit: '200' }))
      const walked: string[] = []
      let cursor: string | null = null
      do {
        const page: ReturnType<typeof listConversations> = listConversations(L({ ...filter, limit: '1', ...(cursor ? { cursor } : {}) }))
        expect(page.total).toBe(all.total)
        walked.push(...page.conversations.map(c => c.id))
        cursor = page.next_cursor
      } while (cursor)
      expect(walked).toEqual(all.conversations.map(c => c.id))
      const byOffset = Array.from({ length: all.total }, (_, i) => listConversations(L({ ...filter, limit: '1', offset: String(i) })).conversations[0]!.id)
      expect(byOffset).toEqual(walked)
    }
    expect(listConversations(L({ agent_id: 'marcus', project_id: 'coord' })).total).toBe(12)
  })

  it('derives closed and active status', async () => {
    sqlite.prepare('UPDATE conversations SET closed_at = ? WHERE id = ?').run(T + 40 * MIN, 'c1')
    expect(getConversation('c1').status).toBe('closed')
    sqlite.prepare('UPDATE conversations SET closed_at = NULL WHERE id = ?').run('c1')
    ingest([msg('now1', 'c9', 'agent_z', Date.now(), 'agent_z', 'marcus', 'fresh', { project_id: 'gamma' })], 'test')
    expect(getConversation('c9').status).toBe('active')
    expect((await conversationAnalytics(analyticsQuery.parse({ project_id: 'gamma' }))).active_conversations).toBe(1)
  })

  it('answers a batch per id in request order', () => {
    const results = getConversationsBatch(['c2', 'missing', 'c1', 'c2'])
    expect(results.map(r => [r.id, r.status])).toEqual([['c2', 'found'], ['missing', 'not_found'], ['c1', 'found'], ['c2', 'found']])
    expect(results[1]!.error?.code).toBe('CONVERSATION_NOT_FOUND')
    expect(results[0]!.conversation?.message_count).toBe(3)
  })

  it('writes a list page as the exact text JSON.stringify gives for it, each row as a single read gives it', () => {
    for (const q of [{}, { limit: '1' }, { project_id: 'beta' }, { agent_id: 'nobody' }]) {
      const { json } = listConversationsJson(L(q))
      expect(JSON.stringify(JSON.parse(json))).toBe(json)
      const page = JSON.parse(json) as ReturnType<typeof listConversations>
      for (const c of page.conversations) expect(JSON.stringify(c)).toBe(JSON.stringify(getConversation(c.id)))
    }
  })

  it('throws CONVERSATION_NOT_FOUND with the id', () => {
    expect(() => getConversation('nope')).toThrow(expect.objectContaining({
      statusCode: 404, data: { code: 'CONVERSATION_NOT_FOUND', details: { conversation_id: 'nope' } },
    }))
  })
})

describe('messages', () => {
  it('returns the newest page in chronological order with response times', () => {
    const page = listMessages('c1', messageListQuery.parse({ limit: '3' }))
    expect(page.has_more).toBe(true)
    expect(page.messages.map(m => m.id)).toEqual(['a2', 'a3', 'a4'])
    expect(page.messages[0]).toEqual({
      id: 'a2', conversation_id: 'c1', sender: 'agent_a', recipient: 'user', content: 'Analysis complete. Found 3 issues.',
      timestamp: '2025-07-14T09:00:02.000Z', message_type: 'response', metadata: { tool_calls: ['analyze_code'] }, response_time_ms: 2000,
    })
    expect(page.messages.map(m => m.response_time_ms)).toEqual([2000, null, 4500])
    const older = listMessages('c1', messageListQuery.parse({ limit: '3', before: 'a2' }))
    expect(older).toMatchObject({ has_more: false, messages: [{ id: 'a1', metadata: {} }] })
  })

  it('pages forward with after', () => {
    expect(listMessages('c1', messageListQuery.parse({ limit: '2', after: 'a1' })).messages.map(m => m.id)).toEqual(['a2', 'a3'])
    expect(listMessages('c1', messageListQuery.parse({ after: 'a1', before: 'a4' })).messages.map(m => m.id)).toEqual(['a2', 'a3'])
  })

  it('writes a page as the exact text JSON.stringify gives for it', () => {
    const pages: [string, Record<string, string>][] = [['c1', {}], ['c2', {}], ['c3', {}], ['c1', { limit: '2', before: 'a4' }], ['c1', { limit: '2', after: 'a1' }]]
    for (const [id, q] of pages) {
      const { json } = listMessagesJson(id, messageListQuery.parse(q))
      expect(JSON.stringify(JSON.parse(json))).toBe(json)
      expect(JSON.parse(json)).toEqual(listMessages(id, messageListQuery.parse(q)))
    }
  })

  it('writes awkward text in pages exactly as JSON.stringify does', () => {
    const odd = ['quote "q" back\\slash', 'line\nbreak\ttab\r\u0008\u000c', '\u0001\u001f\u007f control', 'Größe ↔ 日本語 🙂', '\u2028\u2029 </script>', '']
    const at = T + 400 * MIN
    const events = odd.map((content, i) => msg(`odd-${i}`, 'c-odd "x"', 'agent "ü"', at + i * 1000, i % 2 ? 'agent "ü"' : 'user\ttab', 'marcus',
      content || 'x', { project_id: 'odd', conversation_title: i === 0 ? `title ${content}` : undefined, metadata: i % 2 ? { note: content, n: [1.5, -2e-7] } : undefined }))
    // A database of its own: these rows would change the other tests' counts.
    const own = openDatabase(':memory:')
    setDatabase(own)
    try {
      expect(ingest(events, 'test').rejected).toBe(0)
      const { json } = listMessagesJson('c-odd "x"', messageListQuery.parse({}))
      expect(JSON.stringify(JSON.parse(json))).toBe(json)
      const page = JSON.parse(json) as ReturnType<typeof listMessages>
      expect(page.messages.map(m => [m.id, m.conversation_id, m.sender, m.content, m.timestamp, m.metadata])).toEqual(events.map(e =>
        [e.id, 'c-odd "x"', e.sender, e.content, new Date(e.ts).toISOString(), (e as { metadata?: object }).metadata ?? {}]))
      const list = listConversationsJson(L({ project_id: 'odd' })).json
      expect(JSON.stringify(JSON.parse(list))).toBe(list)
      expect(JSON.parse(list).conversations).toEqual([getConversation('c-odd "x"')])
      expect(getConversation('c-odd "x"')).toMatchObject({ agent_id: 'agent "ü"', title: `title ${odd[0]}` })
      // Values that spell the keys a row's times are found by; and a cursor from such an id.
      const tricky = 'c,"agent_id":"x","started_at":"1'
      expect(ingest([msg('odd-t', tricky, 'a,"last_activity":"2', at + 60_000, 'x,"timestamp":"3', 'marcus', 'y,"timestamp":"4', { project_id: 'odd' })], 'test').rejected).toBe(0)
      const first = JSON.parse(listConversationsJson(L({ project_id: 'odd', limit: '1' })).json)
      expect(first.conversations).toEqual([getConversation(tricky)])
      expect(decodeCursor(first.next_cursor).id).toBe(tricky)
      expect(JSON.parse(listConversationsJson(L({ project_id: 'odd', limit: '1', cursor: first.next_cursor })).json).conversations).toEqual([getConversation('c-odd "x"')])
      expect(JSON.parse(listMessagesJson(tricky, messageListQuery.parse({})).json).messages[0]).toMatchObject({
        sender: 'x,"timestamp":"3', content: 'y,"timestamp":"4', timestamp: new Date(at + 60_000).toISOString(),
      })
    }
    finally {
      own.sqlite.close()
      setDatabase(main)
    }
  })

  it('refuses a cursor message from another conversation', () => {
    expect(() => listMessages('c1', messageListQuery.parse({ before: 'b1' }))).toThrow(expect.objectContaining({
      statusCode: 404, data: expect.objectContaining({ code: 'MESSAGE_NOT_FOUND' }),
    }))
  })
})

describe('analytics', () => {
  const fixtureOnly = { since: '2025-07-14T00:00:00Z', until: '2025-07-15T00:00:00Z' }

  it('computes the figures from the stored data', async () => {
    expect(await conversationAnalytics(analyticsQuery.parse(fixtureOnly))).toEqual({
      total_conversations: 3,
      active_conversations: 0,
      avg_response_time: 4.167, // (2000 + 4500 + 6000) / 3 ms
      peak_hours: ['09:00-11:00', '14:00-15:00'],
      top_agents: [
        { agent_id: 'agent_a', conversation_count: 2, message_count: 7 },
        { agent_id: 'agent_b', conversation_count: 1, message_count: 3 },
      ],
      error_rate: 0.1,
      total_messages: 10,
    })
  })

  it('applies project, agent and time filters', async () => {
    expect(await conversationAnalytics(analyticsQuery.parse({ project_id: 'alpha' }))).toMatchObject({
      total_conversations: 2, total_messages: 7, error_rate: 0.1429, avg_response_time: 4.167, peak_hours: ['09:00-11:00'],
    })
    expect(await conversationAnalytics(analyticsQuery.parse({ agent_id: 'agent_a', ...fixtureOnly }))).toMatchObject({
      total_conversations: 2, total_messages: 7, avg_response_time: 3.25, peak_hours: ['09:00-10:00', '14:00-15:00'],
    })
    expect(await conversationAnalytics(analyticsQuery.parse({ ...fixtureOnly, since: '2025-07-14T10:00:00Z' }))).toMatchObject({
      total_conversations: 2, total_messages: 6, error_rate: 0, avg_response_time: 6,
    })
    expect(await conversationAnalytics(analyticsQuery.parse({ project_id: 'nobody' }))).toEqual({
      total_conversations: 0, active_conversations: 0, avg_response_time: null, peak_hours: [], top_agents: [], error_rate: null, total_messages: 0,
    })
  })
})

describe('analytics windows', () => {
  /** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
  function random(seed: number) {
    let a = seed
    return () => {
      a = (a + 0x6D2B79F5) | 0
      let t = Math.imul(a ^ (a >>> 15), 1 | a)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
    }
  }

  it('answers a window from the activity indexes and totals exactly as the full computation does', async () => {
    const own = openDatabase(':memory:')
    setDatabase(own)
    try {
      const r = random(42)
      // More agents than the top 50, with ids whose BINARY order differs from JS string order,
      // and conversations whose activity bunches up at the end (as real threads do).
      const agents = Array.from({ length: 90 }, (_, i) => ['a', 'B', 'é', '\uFB01', '😀'][i % 5]! + String(i % 23))
      const H = 3_600_000
      const events = Array.from({ length: 3000 }, (_, i) => {
        const c = Math.floor(r() ** 2 * 500)
        const agent = agents[c % agents.length]!
        const at = T + Math.floor((1 - r() ** 3) * 60 * H)
        return msg(`w${i}`, `wc${c}`, agent, at, r() < 0.5 ? agent : 'marcus', r() < 0.5 ? 'marcus' : agent, 'window figures', { project_id: `wp${c % 3}`, message_type: r() < 0.05 ? 'error' : 'message' })
      })
      expect(ingest(events, 'test').rejected).toBe(0)
      // Some conversations without an agent (counted in the total, never among the agents).
      own.sqlite.prepare('UPDATE conversations SET agent_id = NULL WHERE rowid % 7 = 0').run()
      const lastActivity = own.sqlite.prepare('SELECT last_activity FROM conversations').pluck().all() as number[]
      const sinces = [T - H, T, T + 1]
      for (let i = 0; i < 60; i++) sinces.push(T + Math.floor(r() * 61 * H))
      for (let i = 0; i < 30; i++) {
        const at = lastActivity[Math.floor(r() * lastActivity.length)]!
        sinces.push(at - 1, at, at - (at % H), at - (at % H) + H - 1)
      }
      const far = String(T + 1000 * H)
      for (const since of sinces) {
        const fast = await conversationAnalytics(analyticsQuery.parse({ since: String(since) }))
        // With an `until` after every row the figures are the same, computed by grouping every
        // conversation of the window and summing the rollup rows of the window's hours.
        const full = await conversationAnalytics(analyticsQuery.parse({ since: String(since), until: far }))
        expect(fast, `since ${since}`).toEqual(full)
        expect(fast.total_conversations).toBe(own.sqlite.prepare('SELECT count(*) FROM conversations WHERE last_activity > ?').pluck().get(since))
        // Each top agent's messages: its rollup rows of the hours overlapping the window.
        const messagesAfter = own.sqlite.prepare('SELECT coalesce(sum(messages), 0) FROM message_rollups WHERE agent_id = ? AND hour > ?').pluck()
        for (const a of fast.top_agents) expect(a.message_count, `${a.agent_id} since ${since}`).toBe(messagesAfter.get(a.agent_id, since - H))
        // The 50 agents before the final cut to 10, ties at the 50th place included.
        expect(windowConversations(own.sqlite, since)).toEqual({
          total: fast.total_conversations,
          agentConversations: own.sqlite.prepare(`SELECT agent_id, count(*) AS conversation_count FROM conversations WHERE last_activity > ?
            AND agent_id IS NOT NULL GROUP BY agent_id ORDER BY conversation_count DESC, agent_id ASC LIMIT 50`).all(since),
        })
      }
    }
    finally {
      own.sqlite.close()
      setDatabase(main)
    }
  })

  it('orders agents as SQLite does', () => {
    const ids = ['b', 'a', 'é', '\uFB01', '😀', 'ab', 'a\u0000', 'Z', '\uFFFD', '😀a']
    const sqlOrder = sqlite.prepare(`SELECT value FROM json_each(?) ORDER BY value`).pluck().all(JSON.stringify(ids)) as string[]
    expect([...ids].sort(binaryOrder)).toEqual(sqlOrder)
  })
})

describe('search', () => {
  const ids = (q: Record<string, string>) => searchMessages(S(q)).results.map(r => r.message.id)

  it('finds words and marks them in an HTML-safe snippet', () => {
    const found = searchMessages(S({ q: 'payment' }))
    expect(found.total).toBe(2)
    expect(found.mode).toBe('fulltext')
    expect(found.results.map(r => r.message.id).sort()).toEqual(['b1', 'b2'])
    expect(found.results.find(r => r.message.id === 'b1')!.snippet).toBe('Start task T-1 <mark>payment</mark>')
  })

  it('finds words in other alphabets and spellings', () => {
    expect(ids({ q: 'Größe' })).toEqual(['b3'])
    expect(ids({ q: 'grosse' })).toEqual(['b3'])
    expect(ids({ q: 'ПРИВЕТ' })).toEqual(['g1'])
    expect(ids({ q: 'καλημέρα' })).toEqual(['g1'])
    expect(ids({ q: 'ΚΑΛΗΜΈΡΑ' })).toEqual(['g1'])
    expect(ids({ q: 'cafe tres' })).toEqual(['g2'])
    expect(ids({ q: 'café' })).toEqual(['g2'])
  })

  it('supports prefixes and filters', () => {
    expect(ids({ q: 'analys*' }).sort()).toEqual(['a1', 'a2'])
    expect(ids({ q: 'payment', agent_id: 'marcus', sort: 'recent' })).toEqual(['b2', 'b1'])
    expect(ids({ q: 'payment', project_id: 'beta' })).toEqual([])
    expect(ids({ q: 'payment', since: String(T + 60 * MIN) })).toEqual(['b2'])
    expect(ids({ q: 'please', conversation_id: 'c1' }).sort()).toEqual(['a1', 'a3'])
  })

  it('falls back to substring search for Chinese and Japanese', () => {
    const zh = searchMessages(S({ q: '测试' }))
    expect(zh).toMatchObject({ total: 1, mode: 'substring', partial: false })
    expect(zh.results[0]!.snippet).toContain('<mark>测试</mark>')
    expect(zh.results[0]!.snippet).toContain('&#60;b&#62;')
    expect(ids({ q: 'テキスト', project_id: 'beta' })).toEqual(['g3'])
    expect(ids({ q: 'テキスト', conversation_id: 'c3' })).toEqual(['g3'])
    expect(ids({ q: 'テキスト', project_id: 'alpha' })).toEqual([])
  })

  it('never passes user text to MATCH unescaped', () => {
    for (const q of ['"', 'a"b', 'AND OR NEAR(', 'x:y', 'content:foo', '-x', '^a', '(', ')', '\'', '\\', '%', '_', 'NOT', '*', 'a*b*', 'NEAR(a b, 2)', '{a b}', '😀 ok']) {
      try {
        const result = searchMessages(S({ q }))
        expect(result.total).toBeGreaterThanOrEqual(0)
      }
      catch (error) {
        expect((error as { statusCode: number }).statusCode).toBe(400)
      }
    }
  })
})

describe('query plans', () => {
  it('reads conversations and messages through indexes only', () => {
    // Run every statement variant once, then read the plan of each prepared statement.
    for (const q of [{}, { project_id: 'alpha' }, { agent_id: 'agent_a' }, { since: String(T) }, { project_id: 'alpha', agent_id: 'user', since: String(T) },
      { agent_id: 'marcus' }, { agent_id: 'marcus', project_id: 'coord' }, { agent_id: 'marcus', since: String(T - DAY) }]) {
      const first = listConversations(L({ ...q, limit: '1' }))
      if (first.next_cursor) listConversations(L({ ...q, limit: '1', cursor: first.next_cursor }))
    }
    const plans: Record<string, string> = {}
    for (const sql of preparedSql) {
      if (!/^\s*SELECT\b/i.test(sql) || !/\b(conversations|messages)\b/.test(sql)) continue
      const names = [...new Set([...sql.matchAll(/@(\w+)/g)].map(m => m[1]!))]
      const explain: Statement = sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      const bind = Object.fromEntries(names.map(n => [n, n === 'match' ? '"x"' : n === 'seqs' ? '[1]' : 1]))
      const rows = (names.length ? explain.all(bind) : sql.includes('?') ? explain.all('x') : explain.all()) as { detail: string }[]
      plans[sql] = rows.map(r => r.detail).join(' | ')
    }
    expect(Object.keys(plans).length).toBeGreaterThan(10)
    // Both ways of evaluating the agent filter were planned.
    expect(Object.keys(plans).some(sql => sql.includes('EXISTS (SELECT 1 FROM conversation_participants'))).toBe(true)
    expect(Object.keys(plans).some(sql => sql.includes('c.id IN (SELECT conversation_id FROM conversation_participants'))).toBe(true)
    for (const [sql, plan] of Object.entries(plans)) {
      // A full scan of a domain table is never fine; of the small hourly rollups it is. Analytics
      // with `until` alone filter conversations on started_at, which has no index: a scan of
      // conversations (not messages), accepted until the schema gets an index for it.
      if (/started_at <= @until/.test(sql) && !/@(since|projectId|agentId)\b/.test(sql)) continue
      const fullScan = /\bSCAN (c|m|conversations|messages|conversation_participants)\b(?! USING (COVERING )?INDEX)/.test(plan)
      expect(fullScan, `${sql}\n→ ${plan}`).toBe(false)
    }
  })
})

describe('remembered figures', () => {
  it('formats times exactly as Date#toISOString', () => {
    const samples = [0, 1, 999, 1000, T, T + 123, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999), -1, 253_402_300_800_000, 1.5]
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 253_402_300_800_000))
    for (const ms of samples) expect(isoTime(ms)).toBe(new Date(ms).toISOString())
  })

  it('the store version changes with every write, and reads do not change it', async () => {
    const before = storeVersion(sqlite)
    listConversations(L())
    await conversationAnalytics(analyticsQuery.parse({}))
    expect(storeVersion(sqlite)).toBe(before)
    sqlite.exec('SAVEPOINT version')
    try {
      sqlite.prepare(`UPDATE conversations SET title = 'x' WHERE id = 'c3'`).run()
      expect(storeVersion(sqlite)).not.toBe(before)
    }
    finally {
      sqlite.exec('ROLLBACK TO version; RELEASE version')
    }
  })

  it('totals, search counts and all-time analytics follow a write at once', async () => {
    const own = openDatabase(':memory:')
    setDatabase(own)
    try {
      expect(ingest(fixture, 'test').rejected).toBe(0)
      const all = analyticsQuery.parse({ since: '1' })
      const before = await conversationAnalytics(all)
      const totalBefore = listConversations(L()).total
      const cafeBefore = searchMessages(S({ q: 'café' })).total
      expect(ingest([msg('n1', 'c9', 'agent_c', T + 320 * MIN, 'agent_c', 'marcus', 'Another café', { project_id: 'beta', message_type: 'error' })], 'test').stored).toBe(1)
      expect(listConversations(L()).total).toBe(totalBefore + 1)
      expect(searchMessages(S({ q: 'café' })).total).toBe(cafeBefore + 1)
      const after = await conversationAnalytics(all)
      expect(after.total_conversations).toBe(before.total_conversations + 1)
      expect(after.total_messages).toBe(before.total_messages + 1)
      expect(after.top_agents.map(a => a.agent_id)).toContain('agent_c')
      expect(after.error_rate).not.toBe(before.error_rate)
      // A write rolled back leaves the figures as they were (inside a transaction nothing is remembered).
      own.sqlite.exec('SAVEPOINT undone')
      own.sqlite.prepare(`DELETE FROM conversations WHERE id = 'c9'`).run()
      expect(listConversations(L()).total).toBe(totalBefore)
      own.sqlite.exec('ROLLBACK TO undone; RELEASE undone')
      expect(listConversations(L()).total).toBe(totalBefore + 1)
    }
    finally {
      own.sqlite.close()
      setDatabase(main)
    }
  })
})

describe('read-side totals', () => {
  const totalsMatch = () => {
    expect(sqlite.prepare(`SELECT agent_id, project_id, messages, errors, responses, response_ms_sum FROM agent_message_totals WHERE messages <> 0 OR responses <> 0 ORDER BY 1, 2`).all())
      .toEqual(sqlite.prepare(`SELECT agent_id, project_id, sum(messages) AS messages, sum(errors) AS errors, sum(responses) AS responses, sum(response_ms_sum) AS response_ms_sum
        FROM message_rollups GROUP BY 1, 2 HAVING sum(messages) <> 0 OR sum(responses) <> 0 ORDER BY 1, 2`).all())
    expect(sqlite.prepare(`SELECT project_id, hour, messages, errors, responses, response_ms_sum FROM project_hour_rollups WHERE messages <> 0 ORDER BY 1, 2`).all())
      .toEqual(sqlite.prepare(`SELECT project_id, hour, sum(messages) AS messages, sum(errors) AS errors, sum(responses) AS responses, sum(response_ms_sum) AS response_ms_sum
        FROM message_rollups GROUP BY 1, 2 HAVING sum(messages) <> 0 ORDER BY 1, 2`).all())
    // The running totals: a row for every rollup hour, each the sum of the hours up to it.
    expect(sqlite.prepare(`SELECT count(*) FROM message_rollups m WHERE NOT EXISTS (SELECT 1 FROM agent_message_running r
      WHERE r.project_id = m.project_id AND r.agent_id = m.agent_id AND r.hour = m.hour)`).pluck().get()).toBe(0)
    expect(sqlite.prepare(`SELECT r.project_id, r.agent_id, r.hour, r.messages, (SELECT coalesce(sum(m.messages), 0) FROM message_rollups m
      WHERE m.project_id = r.project_id AND m.agent_id = r.agent_id AND m.hour <= r.hour) AS expected FROM agent_message_running r`).all()
      .filter(r => (r as { messages: number, expected: number }).messages !== (r as { expected: number }).expected)).toEqual([])
    expect(sqlite.prepare(`SELECT project_id, agent_id, conversations FROM conversation_agent_counts WHERE conversations <> 0 ORDER BY 1, 2`).all())
      .toEqual(sqlite.prepare(`SELECT project_id, coalesce(agent_id, '') AS agent_id, count(*) AS conversations FROM conversations GROUP BY 1, 2 ORDER BY 1, 2`).all())
  }

  it('equal what they total, after ingest and after rows are deleted or moved', () => {
    totalsMatch()
    sqlite.exec('SAVEPOINT totals')
    try {
      sqlite.prepare(`DELETE FROM conversations WHERE id = 'c3'`).run()
      sqlite.prepare(`DELETE FROM message_rollups WHERE project_id = 'beta'`).run()
      sqlite.prepare(`UPDATE message_rollups SET agent_id = 'agent_moved' WHERE agent_id = 'agent_b'`).run()
      sqlite.prepare(`UPDATE message_rollups SET hour = hour - 7200000, messages = messages + 2 WHERE agent_id = 'agent_a' AND hour = (SELECT max(hour) FROM message_rollups WHERE agent_id = 'agent_a')`).run()
      sqlite.prepare(`INSERT INTO message_rollups (project_id, agent_id, hour, messages) VALUES ('alpha', 'agent_a', 0, 5)`).run()
      sqlite.prepare(`UPDATE conversations SET agent_id = NULL WHERE id = 'c2'`).run()
      totalsMatch()
    }
    finally {
      sqlite.exec('ROLLBACK TO totals; RELEASE totals')
    }
    totalsMatch()
  })
})
