/** GET /api/conversations/graph: who talks to whom, within the filters and the caller's projects. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { communicationGraphResponse } from '../../shared/dashboards'
import { api, mintTestToken, startServer, type TestServer } from '../helpers/server'

let server: TestServer
const T = Date.UTC(2026, 2, 2, 9, 0, 0)

beforeAll(async () => {
  server = await startServer()
  const msg = (id: string, project: string, sender: string, recipient: string | undefined, type: string, at: number) =>
    ({ kind: 'message', id, project_id: project, conversation_id: `${project}-c`, sender, recipient, message_type: type, content: id, ts: at })
  const { status } = await api(server.url, '/api/ingest', { method: 'POST', json: { events: [
    msg('a1', 'shop', 'planner', 'coder', 'request', T),
    msg('a2', 'shop', 'coder', 'planner', 'response', T + 1000),
    msg('a3', 'shop', 'planner', 'coder', 'request', T + 2000),
    msg('a4', 'shop', 'coder', 'planner', 'error', T + 3000),
    msg('a5', 'shop', 'planner', undefined, 'status', T + 4000),
    msg('b1', 'blog', 'writer', 'editor', 'request', T + 5000),
  ] } })
  expect(status).toBe(200)
})

afterAll(async () => {
  await server?.dispose()
})

describe('communication graph', () => {
  it('weights each sender→recipient edge by messages and counts its errors', async () => {
    const { status, body } = await api(server.url, '/api/conversations/graph?project_id=shop')
    expect(status).toBe(200)
    const graph = communicationGraphResponse.parse(body)
    expect(graph.edges).toEqual([
      { source: 'coder', target: 'planner', messages: 2, errors: 1, avg_response_time_ms: 1000 },
      { source: 'planner', target: 'coder', messages: 2, errors: 0, avg_response_time_ms: null },
      { source: 'planner', target: '*', messages: 1, errors: 0, avg_response_time_ms: null },
    ])
    expect(graph.total_messages).toBe(5)
    expect(graph.nodes.find(n => n.id === 'coder')).toEqual({ id: 'coder', sent: 2, received: 2, errors: 1 })
  })

  it('narrows to an agent and a time window, and keeps the heaviest edges under a limit', async () => {
    const since = new Date(T + 2500).toISOString()
    const { body } = await api(server.url, `/api/conversations/graph?agent_id=coder&since=${since}`)
    expect(body.edges).toEqual([{ source: 'coder', target: 'planner', messages: 1, errors: 1, avg_response_time_ms: 1000 }])
    const limited = await api(server.url, '/api/conversations/graph?project_id=shop&limit=1')
    expect(limited.body.edges).toHaveLength(1)
    expect(limited.body.omitted_messages).toBe(3)
  })

  it('shows only the caller\'s projects', async () => {
    const token = await mintTestToken({ role: 'viewer', projects: ['blog'] })
    const { body } = await api(server.url, '/api/conversations/graph', { auth: token })
    expect(body.edges.map((e: any) => `${e.source}>${e.target}`)).toEqual(['writer>editor'])
    const other = await api(server.url, '/api/conversations/graph?project_id=shop', { auth: token })
    expect(other.status).toBe(403)
    expect(other.body.error.code).toBe('FORBIDDEN')
  })

  it('refuses a malformed window without changing anything', async () => {
    const { status, body } = await api(server.url, '/api/conversations/graph?since=yesterday')
    expect(status).toBe(400)
    expect(body.error.code).toBe('VALIDATION_FAILED')
  })
})
