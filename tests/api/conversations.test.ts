import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, startServer, type TestServer } from '../helpers/server'

const T = Date.UTC(2025, 6, 14, 9, 0, 0)
const MIN = 60_000
/** Paging data lives a year earlier, so windows on 2025-07-14 see only the fixture. */
const P = Date.UTC(2024, 0, 10, 12, 0, 0)
const fixtureWindow = 'since=2025-07-14T00:00:00Z&until=2025-07-15T00:00:00Z'

function msg(id: string, conversation: string, agent: string, at: number, sender: string, recipient: string, content: string, extra: Record<string, unknown> = {}) {
  return { kind: 'message', id, conversation_id: conversation, agent_id: agent, ts: at, sender, recipient, content, ...extra }
}

/**
 * Hand-checked figures (see each test): response pairs a1→a2 2000 ms, a3→a4 4500 ms
 * (pairing: first unanswered message, first later message of another sender) and b1→b2
 * 6000 ms (in_reply_to). Messages per UTC hour 09 → 4, 10 → 3, 14 → 3; one error.
 */
const fixture = [
  msg('a1', 'c1', 'agent_a', T, 'user', 'agent_a', 'Please analyse the login flow', { message_type: 'request', project_id: 'alpha', conversation_title: 'Login bug' }),
  msg('a2', 'c1', 'agent_a', T + 2000, 'agent_a', 'user', 'Analysis complete. Found 3 issues.', { message_type: 'response', project_id: 'alpha', metadata: { tool_calls: ['analyze_code'], execution_time: 1.25 } }),
  msg('a3', 'c1', 'agent_a', T + 30 * MIN, 'user', 'agent_a', 'Fix them please', { message_type: 'request', project_id: 'alpha' }),
  msg('a4', 'c1', 'agent_a', T + 30 * MIN + 4500, 'agent_a', 'user', 'Build failed: timeout', { message_type: 'error', project_id: 'alpha' }),
  msg('b1', 'c2', 'agent_b', T + 60 * MIN, 'marcus', 'agent_b', 'Start task T-1 payment', { message_type: 'request', project_id: 'alpha' }),
  msg('b2', 'c2', 'agent_b', T + 60 * MIN + 6000, 'agent_b', 'marcus', 'Working on the payment API', { message_type: 'response', project_id: 'alpha', in_reply_to: 'b1' }),
  msg('b3', 'c2', 'agent_b', T + 80 * MIN, 'agent_b', 'marcus', 'Größe der Datei geprüft', { project_id: 'alpha' }),
  msg('g1', 'c3', 'agent_a', T + 300 * MIN, 'agent_a', 'marcus', 'привет мир, καλημέρα κόσμε', { project_id: 'beta' }),
  msg('g2', 'c3', 'agent_a', T + 305 * MIN, 'agent_a', 'marcus', 'Le café est très fort', { project_id: 'beta' }),
  msg('g3', 'c3', 'agent_a', T + 310 * MIN, 'agent_a', 'marcus', '这是一个测试消息 日本語のテキストです', { project_id: 'beta' }),
]

/** 23 one-message conversations, three to a timestamp, so the id breaks ties. */
const pagingIds = Array.from({ length: 23 }, (_, i) => `p${String(i).padStart(2, '0')}`)
const paging = pagingIds.map((id, i) => msg(`pm${i}`, id, `agent_${i % 4}`, P + Math.floor(i / 3) * 1000, `agent_${i % 4}`, 'marcus', `paging ${i}`, { project_id: 'paging' }))
const pagingOrder = [...paging].sort((a, b) => b.ts - a.ts || (a.conversation_id < b.conversation_id ? 1 : -1)).map(m => m.conversation_id)

/**
 * One thread whose chronological order differs from arrival order: t0 arrives last but is
 * oldest; t2, t3, t4 share a timestamp (arrival breaks the tie), as do t6 and t7.
 */
const threadTs = [1000, 2000, 3000, 3000, 3000, 4000, 5000, 5000]
const thread = [1, 2, 3, 4, 5, 6, 7, 0].map(i => msg(`t${i}`, 'thread', 'agent_t', P + threadTs[i]!, i % 2 ? 'agent_t' : 'marcus', i % 2 ? 'marcus' : 'agent_t', `thread message ${i}`, { project_id: 'threads' }))
const threadOrder = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']

const odd = [
  msg('d1', undefined as unknown as string, 'x', P, 'x', 'y', 'direct thread', { project_id: 'alpha' }),
  msg('s1', 'team/alpha #1 100%', 'x', P, 'x', 'y', 'slashes and hashes', { project_id: 'alpha' }),
  msg('h1', 'html', 'x', P, 'x', 'y', '<script>alert(1)</script> payment due', { project_id: 'xss' }),
]

let server: TestServer
const get = (path: string) => api(server.url, path)
const post = (path: string, json: unknown) => api(server.url, path, { method: 'POST', json })

function expectError(res: { status: number, body: any, headers: Headers }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status)
  expect(res.body.error).toEqual({
    code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.any(String),
  })
  expect(res.headers.get('x-request-id')).toBe(res.body.error.request_id)
}

beforeAll(async () => {
  server = await startServer()
  const res = await post('/api/ingest', { events: [...fixture, ...paging, ...thread, ...odd] })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
})

afterAll(async () => {
  await server?.dispose()
})

describe('GET /api/conversations', () => {
  it('lists conversations newest activity first in the seed shape', async () => {
    const res = await get('/api/conversations?project_id=alpha&since=2025-07-01')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      conversations: [
        expect.objectContaining({ id: 'c2', agent_id: 'agent_b', message_count: 3, last_activity: '2025-07-14T10:20:00.000Z' }),
        {
          id: 'c1', agent_id: 'agent_a', project_id: 'alpha', started_at: '2025-07-14T09:00:00.000Z', status: 'idle', message_count: 4,
          last_activity: '2025-07-14T09:30:04.500Z', participants: ['user', 'agent_a'], type: 'direct', title: 'Login bug', error_count: 1,
        },
      ],
      total: 2,
      has_more: false,
      next_cursor: null,
    })
  })

  it('filters by the agents taking part, by project and by time', async () => {
    const ids = async (q: string) => (await get(`/api/conversations?${q}`)).body.conversations.map((c: { id: string }) => c.id)
    expect(await ids('agent_id=user')).toEqual(['c1'])
    expect(await ids('agent_id=marcus&since=2025-07-01')).toEqual(['c3', 'c2'])
    expect(await ids('agent_id=agent_a&project_id=beta')).toEqual(['c3'])
    expect(await ids(`since=${T + 60 * MIN}`)).toEqual(['c3', 'c2'])
    expect(await ids('since=2025-07-14T14:00:00Z')).toEqual(['c3'])
    expect(await ids('project_id=nobody')).toEqual([])
  })

  it('walks every page with limit=1 by offset and by cursor, each conversation once', async () => {
    for (const filter of ['project_id=paging&', '']) {
      const all = await get(`/api/conversations?${filter}limit=200`)
      const expected: string[] = all.body.conversations.map((c: { id: string }) => c.id)
      if (filter) expect(expected).toEqual(pagingOrder)
      expect(all.body.total).toBe(expected.length)

      const byOffset: string[] = []
      for (let offset = 0; ; offset++) {
        const page = await get(`/api/conversations?${filter}limit=1&offset=${offset}`)
        expect(page.status).toBe(200)
        expect(page.body.total).toBe(expected.length)
        byOffset.push(...page.body.conversations.map((c: { id: string }) => c.id))
        if (!page.body.has_more) {
          expect(page.body.next_cursor).toBeNull()
          break
        }
        expect(page.body.next_cursor).toEqual(expect.any(String))
      }
      expect(byOffset).toEqual(expected)

      const byCursor: string[] = []
      let cursor: string | null = null
      do {
        const page: { body: { conversations: { id: string }[], has_more: boolean, next_cursor: string | null, total: number } }
          = await get(`/api/conversations?${filter}limit=1${cursor ? `&cursor=${cursor}&offset=999` : ''}`)
        expect(page.body.total).toBe(expected.length)
        byCursor.push(...page.body.conversations.map(c => c.id))
        expect(page.body.next_cursor === null).toBe(!page.body.has_more)
        cursor = page.body.next_cursor
      } while (cursor)
      expect(byCursor).toEqual(expected)
    }
  })

  it('walks the conversations of a coordinator taking part in nearly all of them', async () => {
    const all = (await get('/api/conversations?agent_id=marcus&limit=200')).body
    expect(all.total).toBeGreaterThan(pagingIds.length)
    const walked: string[] = []
    let cursor = ''
    for (;;) {
      const page = await get(`/api/conversations?agent_id=marcus&limit=1${cursor}`)
      expect(page.body.total).toBe(all.total)
      walked.push(...page.body.conversations.map((c: { id: string }) => c.id))
      if (!page.body.has_more) break
      cursor = `&cursor=${page.body.next_cursor}`
    }
    expect(walked).toEqual(all.conversations.map((c: { id: string }) => c.id))
  })

  it('pages by cursor in larger pages too', async () => {
    const seen: string[] = []
    let cursor = ''
    for (;;) {
      const page = await get(`/api/conversations?project_id=paging&limit=5${cursor}`)
      seen.push(...page.body.conversations.map((c: { id: string }) => c.id))
      if (!page.body.has_more) break
      cursor = `&cursor=${page.body.next_cursor}`
    }
    expect(seen).toEqual(pagingOrder)
  })

  it('answers invalid parameters with VALIDATION_FAILED and a bad cursor with INVALID_CURSOR', async () => {
    for (const q of ['limit=abc', 'limit=0', 'limit=201', 'offset=-1', 'since=yesterday', 'since=']) {
      const res = await get(`/api/conversations?${q}`)
      expectError(res, 400, 'VALIDATION_FAILED')
      expect(res.body.error.details.issues.length).toBeGreaterThan(0)
    }
    expectError(await get('/api/conversations?limit=1&limit=2'), 400, 'VALIDATION_FAILED')
    expectError(await get('/api/conversations?cursor=garbage!'), 400, 'INVALID_CURSOR')
    expectError(await get(`/api/conversations?cursor=${Buffer.from('{"a":1}').toString('base64url')}`), 400, 'INVALID_CURSOR')
  })
})

describe('GET /api/conversations/{id}', () => {
  it('returns one conversation, ids with reserved characters included', async () => {
    expect((await get('/api/conversations/c2')).body).toMatchObject({ id: 'c2', participants: ['marcus', 'agent_b'], status: 'idle' })
    const direct = await get(`/api/conversations/${encodeURIComponent('dm:alpha:x+y')}`)
    expect(direct.status).toBe(200)
    expect(direct.body.id).toBe('dm:alpha:x+y')
    const slashed = await get(`/api/conversations/${encodeURIComponent('team/alpha #1 100%')}`)
    expect(slashed.body.id).toBe('team/alpha #1 100%')
    const thread = await get(`/api/conversations/${encodeURIComponent('team/alpha #1 100%')}/messages`)
    expect(thread.body.messages.map((m: { id: string }) => m.id)).toEqual(['s1'])
  })

  it('answers an unknown id with CONVERSATION_NOT_FOUND', async () => {
    const res = await get('/api/conversations/conv_123')
    expectError(res, 404, 'CONVERSATION_NOT_FOUND')
    expect(res.body.error.details).toEqual({ conversation_id: 'conv_123' })
  })

  it('is derived active while messages keep coming', async () => {
    await post('/api/ingest', { events: [msg('live1', 'live-conv', 'agent_l', Date.now(), 'agent_l', 'marcus', 'still here', { project_id: 'live' })] })
    expect((await get('/api/conversations/live-conv')).body.status).toBe('active')
    expect((await get('/api/conversations/analytics?project_id=live')).body).toMatchObject({ total_conversations: 1, active_conversations: 1, total_messages: 1 })
  })
})

describe('GET /api/conversations/{id}/messages', () => {
  it('returns the newest messages, oldest first within the page, in the seed shape', async () => {
    const res = await get('/api/conversations/c1/messages')
    expect(res.status).toBe(200)
    expect(res.body.has_more).toBe(false)
    expect(res.body.messages.map((m: { id: string }) => m.id)).toEqual(['a1', 'a2', 'a3', 'a4'])
    expect(res.body.messages[1]).toEqual({
      id: 'a2', conversation_id: 'c1', sender: 'agent_a', recipient: 'user', content: 'Analysis complete. Found 3 issues.',
      timestamp: '2025-07-14T09:00:02.000Z', message_type: 'response', metadata: { tool_calls: ['analyze_code'], execution_time: 1.25 },
      response_time_ms: 2000,
    })
    expect(res.body.messages.map((m: { response_time_ms: number | null }) => m.response_time_ms)).toEqual([null, 2000, null, 4500])
  })

  it('pages backwards with before and forwards with after over (timestamp, arrival)', async () => {
    const ids = (body: { messages: { id: string }[] }) => body.messages.map(m => m.id)
    const pages: string[][] = []
    let before = ''
    for (;;) {
      const page = await get(`/api/conversations/thread/messages?limit=3${before}`)
      expect(page.status).toBe(200)
      pages.push(ids(page.body))
      if (!page.body.has_more) break
      before = `&before=${page.body.messages[0].id}`
    }
    expect(pages).toEqual([['t5', 't6', 't7'], ['t2', 't3', 't4'], ['t0', 't1']])
    expect(pages.reverse().flat()).toEqual(threadOrder)

    const forward: string[] = []
    let after = 't0'
    for (;;) {
      const page = await get(`/api/conversations/thread/messages?limit=3&after=${after}`)
      forward.push(...ids(page.body))
      if (!page.body.has_more) break
      after = page.body.messages.at(-1).id
    }
    expect(forward).toEqual(threadOrder.slice(1))
  })

  it('answers unknown conversations and cursors with 404, bad limits with 400', async () => {
    expectError(await get('/api/conversations/nope/messages'), 404, 'CONVERSATION_NOT_FOUND')
    const unknown = await get('/api/conversations/thread/messages?before=msg_nope')
    expectError(unknown, 404, 'MESSAGE_NOT_FOUND')
    expect(unknown.body.error.details).toMatchObject({ message_id: 'msg_nope', conversation_id: 'thread', param: 'before' })
    expectError(await get('/api/conversations/thread/messages?before=a1'), 404, 'MESSAGE_NOT_FOUND')
    for (const q of ['limit=501', 'limit=abc', 'limit=0', 'before=']) {
      expectError(await get(`/api/conversations/thread/messages?${q}`), 400, 'VALIDATION_FAILED')
    }
  })
})

describe('GET /api/conversations/analytics', () => {
  it('computes every figure from the stored data', async () => {
    const res = await get(`/api/conversations/analytics?${fixtureWindow}`)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      total_conversations: 3,
      active_conversations: 0,
      avg_response_time: 4.167, // (2000 + 4500 + 6000) / 3 ms, in seconds
      // Busiest hour 09 (4 messages); 10 and 14 (3 each) reach three quarters of it.
      peak_hours: ['09:00-11:00', '14:00-15:00'],
      top_agents: [
        { agent_id: 'agent_a', conversation_count: 2, message_count: 7 },
        { agent_id: 'agent_b', conversation_count: 1, message_count: 3 },
      ],
      error_rate: 0.1, // 1 error in 10 messages
      total_messages: 10,
    })
  })

  it('applies project, agent and time filters', async () => {
    expect((await get(`/api/conversations/analytics?project_id=alpha&${fixtureWindow}`)).body).toMatchObject({
      total_conversations: 2, total_messages: 7, error_rate: 0.1429, avg_response_time: 4.167, peak_hours: ['09:00-11:00'],
    })
    // agent_a's messages: c1 (4) and c3 (3); its pairs 2000 and 4500 ms.
    expect((await get(`/api/conversations/analytics?agent_id=agent_a&${fixtureWindow}`)).body).toMatchObject({
      total_conversations: 2, total_messages: 7, error_rate: 0.1429, avg_response_time: 3.25, peak_hours: ['09:00-10:00', '14:00-15:00'],
      top_agents: [{ agent_id: 'agent_a', conversation_count: 2, message_count: 7 }],
    })
    expect((await get('/api/conversations/analytics?since=2025-07-14T10:00:00Z&until=2025-07-14T12:00:00Z')).body).toMatchObject({
      total_conversations: 1, total_messages: 3, error_rate: 0, avg_response_time: 6, peak_hours: ['10:00-11:00'],
    })
    expect((await get('/api/conversations/analytics?project_id=nobody')).body).toEqual({
      total_conversations: 0, active_conversations: 0, avg_response_time: null, peak_hours: [], top_agents: [], error_rate: null, total_messages: 0,
    })
  })

  it('counts everything without filters and refuses bad ones', async () => {
    const all = (await get('/api/conversations/analytics')).body
    const list = (await get('/api/conversations?limit=1')).body
    expect(all.total_conversations).toBe(list.total)
    expect(all.total_messages).toBe(fixture.length + paging.length + thread.length + odd.length + 1)
    expectError(await get('/api/conversations/analytics?since=2025-07-15&until=2025-07-14'), 400, 'VALIDATION_FAILED')
    expectError(await get('/api/conversations/analytics?until=tomorrow'), 400, 'VALIDATION_FAILED')
  })
})

describe('POST /api/conversations/batch', () => {
  it('answers per id in request order', async () => {
    const res = await post('/api/conversations/batch', { conversation_ids: ['c2', 'conv_missing', 'c1'] })
    expect(res.status).toBe(200)
    expect(res.body.results).toEqual([
      { id: 'c2', status: 'found', conversation: expect.objectContaining({ id: 'c2', message_count: 3 }) },
      { id: 'conv_missing', status: 'not_found', error: { code: 'CONVERSATION_NOT_FOUND', message: expect.any(String) } },
      { id: 'c1', status: 'found', conversation: expect.objectContaining({ id: 'c1', title: 'Login bug' }) },
    ])
  })

  it('takes up to 50 ids and refuses more', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => pagingIds[i % pagingIds.length]!)
    const ok = await post('/api/conversations/batch', { conversation_ids: fifty })
    expect(ok.status).toBe(200)
    expect(ok.body.results.map((r: { id: string }) => r.id)).toEqual(fifty)
    expect(ok.body.results.every((r: { status: string }) => r.status === 'found')).toBe(true)
    const tooMany = await post('/api/conversations/batch', { conversation_ids: [...fifty, 'c1'] })
    expectError(tooMany, 400, 'BATCH_TOO_LARGE')
    expect(tooMany.body.error.details).toEqual({ max: 50, received: 51 })
    expect((await post('/api/conversations/batch', { conversation_ids: [] })).body).toEqual({ results: [] })
  })

  it('refuses bodies that are not a list of ids', async () => {
    for (const body of [{ conversation_ids: [1, 2] }, { conversation_ids: 'c1' }, {}, [], { conversation_ids: [''] }, { conversation_ids: [null] }]) {
      expectError(await post('/api/conversations/batch', body), 400, 'VALIDATION_FAILED')
    }
    expectError(await api(server.url, '/api/conversations/batch', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_JSON')
  })
})

describe('GET /api/projects/{project_id}/conversations', () => {
  it('lists one project with the list parameters', async () => {
    const res = await get('/api/projects/alpha/conversations?since=2025-07-01&project_id=beta')
    expect(res.status).toBe(200)
    expect(res.body.conversations.map((c: { id: string }) => c.id)).toEqual(['c2', 'c1'])
    const walked: string[] = []
    let cursor = ''
    for (;;) {
      const page = await get(`/api/projects/paging/conversations?limit=7${cursor}`)
      walked.push(...page.body.conversations.map((c: { id: string }) => c.id))
      if (!page.body.has_more) break
      cursor = `&cursor=${page.body.next_cursor}`
    }
    expect(walked).toEqual(pagingOrder)
  })

  it('answers an unknown project with PROJECT_NOT_FOUND', async () => {
    const res = await get('/api/projects/nope/conversations')
    expectError(res, 404, 'PROJECT_NOT_FOUND')
    expect(res.body.error.details).toEqual({ project_id: 'nope' })
    expectError(await get('/api/projects/alpha/conversations?limit=0'), 400, 'VALIDATION_FAILED')
  })
})

describe('GET /api/conversations/search', () => {
  const search = (q: string, extra = '') => get(`/api/conversations/search?q=${encodeURIComponent(q)}${extra}`)
  const ids = async (q: string, extra = '') => {
    const res = await search(q, extra)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    return res.body.results.map((r: { message: { id: string } }) => r.message.id)
  }

  it('finds messages by word with a marked snippet', async () => {
    const res = await search('payment', '&project_id=alpha&sort=recent')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ total: 2, has_more: false, mode: 'fulltext' })
    expect(res.body.results[0]).toEqual({
      message: expect.objectContaining({ id: 'b2', conversation_id: 'c2', sender: 'agent_b', content: 'Working on the payment API' }),
      conversation_id: 'c2',
      snippet: 'Working on the <mark>payment</mark> API',
    })
  })

  it('escapes message HTML in snippets', async () => {
    const res = await search('payment', '&project_id=xss')
    expect(res.body.results[0].snippet).toBe('&#60;script&#62;alert(1)&#60;/script&#62; <mark>payment</mark> due')
  })

  it('finds words in German, Russian, Greek and French, with and without diacritics', async () => {
    expect(await ids('Größe')).toEqual(['b3'])
    expect(await ids('grosse')).toEqual(['b3'])
    expect(await ids('привет')).toEqual(['g1'])
    expect(await ids('ПРИВЕТ мир')).toEqual(['g1'])
    expect(await ids('καλημέρα')).toEqual(['g1'])
    expect(await ids('café')).toEqual(['g2'])
    expect(await ids('tres cafe')).toEqual(['g2'])
  })

  it('finds Chinese and Japanese substrings', async () => {
    const zh = await search('测试')
    expect(zh.body).toMatchObject({ total: 1, mode: 'substring', results: [{ message: { id: 'g3' }, conversation_id: 'c3' }] })
    expect(zh.body.results[0].snippet).toContain('<mark>测试</mark>')
    expect(await ids('テキスト', '&project_id=beta')).toEqual(['g3'])
    expect(await ids('日本語', '&conversation_id=c3')).toEqual(['g3'])
    expect(await ids('日本語', '&project_id=alpha')).toEqual([])
  })

  it('applies filters, prefixes and paging', async () => {
    expect((await ids('analys*')).sort()).toEqual(['a1', 'a2'])
    expect(await ids('please', '&agent_id=user&conversation_id=c1&sort=recent')).toEqual(['a3', 'a1'])
    expect(await ids('payment', `&project_id=alpha&since=${T + 60 * MIN}`)).toEqual(['b2'])
    const first = await search('paging', '&limit=10&sort=recent')
    expect(first.body).toMatchObject({ total: 23, has_more: true })
    const last = await search('paging', '&limit=10&offset=20&sort=recent')
    expect(last.body.has_more).toBe(false)
    expect(last.body.results).toHaveLength(3)
  })

  it('treats FTS syntax as text and never fails with a 500', async () => {
    for (const q of ['"', 'a"b', 'AND OR NEAR(', ':', 'content:payment', '-payment', '^payment', '(', 'payment)', '\'', '\\', '%', '_',
      'NOT payment', '*', 'pay*ment*', 'NEAR(a b, 2)', '{content}: x', '😀', '%%%测试%%%', 'a'.repeat(400)]) {
      const res = await search(q)
      expect([200, 400], `${q}: ${JSON.stringify(res.body)}`).toContain(res.status)
      if (res.status === 400) expectError(res, 400, 'VALIDATION_FAILED')
    }
    expect(await ids('content:payment', '&project_id=alpha&sort=recent')).toEqual([])
    expect(await ids('payment)', '&project_id=alpha&sort=recent')).toEqual(['b2', 'b1'])
  })

  it('refuses an empty query', async () => {
    for (const q of ['', '%20%20', '"', '*']) expectError(await get(`/api/conversations/search?q=${q}`), 400, 'VALIDATION_FAILED')
    expectError(await get('/api/conversations/search'), 400, 'VALIDATION_FAILED')
    expectError(await get('/api/conversations/search?q=x&limit=101'), 400, 'VALIDATION_FAILED')
  })
})

describe('routing', () => {
  it('serves the static routes before the {id} route', async () => {
    expect((await get('/api/conversations/analytics')).body).toHaveProperty('peak_hours')
    expect((await get('/api/conversations/search?q=payment')).body).toHaveProperty('mode', 'fulltext')
    expectError(await get('/api/conversations/batch'), 405, 'METHOD_NOT_ALLOWED')
    expectError(await post('/api/conversations/analytics', {}), 404, 'ROUTE_NOT_FOUND')
  })
})
