/**
 * The Marcus MCP connector against a fake Marcus (same SDK, MARCUS.md's shapes): agents and
 * changes become events, unchanged polls add none, commands go through Marcus, and when
 * Marcus dies the server degrades to historical mode and recovers on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type FakeMarcus, startFakeMarcus } from '../helpers/fake-marcus'
import { api, startServer, type TestServer, waitFor } from '../helpers/server'

const POLL_MS = 200
const ACTIVITY_TIMEOUT_MS = 3000

let fake: FakeMarcus
let server: TestServer

async function health() {
  return (await api(server.url, '/health', { auth: false })).body
}

async function events(kind: string) {
  return (await api(server.url, `/api/events?kind=${kind}&limit=1000`)).body.events as any[]
}

function wsHello(): Promise<any> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${encodeURIComponent(server.adminKey)}`)
    const timer = setTimeout(() => fail(new Error('no connection_established')), 5000)
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString())
      if (frame.event !== 'connection_established') return
      clearTimeout(timer)
      ws.close()
      ok(frame.data)
    })
    ws.on('error', fail)
  })
}

beforeAll(async () => {
  fake = await startFakeMarcus({
    agents: [
      { id: 'worker-a', name: 'Alice', role: 'backend', status: 'working', skills: ['python', 'sql'], current_tasks: [{ task_id: 'task-1', task_name: 'Build API' }], total_completed: 2 },
      { id: 'worker-b', name: 'Bob', role: 'frontend', status: 'available', skills: ['vue'], current_tasks: [], total_completed: 0 },
    ],
  })
  server = await startServer({
    MARCUS_MCP_URL: fake.url,
    SENECA_MARCUS_MCP_POLL_MS: String(POLL_MS),
    SENECA_MARCUS_MCP_TIMEOUT_MS: '1000',
    SENECA_MARCUS_MCP_RESET_MS: '1000',
    SENECA_MARCUS_MCP_RECONNECT_MIN_MS: '200',
    SENECA_MARCUS_MCP_RECONNECT_MAX_MS: '1000',
    SENECA_RATE_LIMITS: 'off',
    // Short enough that the agents below would go silent within the test without the polls.
    SENECA_ACTIVITY_TIMEOUT_MS: String(ACTIVITY_TIMEOUT_MS),
    SENECA_HEALTH_INTERVAL_MS: '200',
  })
}, 60_000)

afterAll(async () => {
  await server?.dispose()
  await fake?.kill()
})

describe('Marcus MCP connector', () => {
  it('authenticates as an observer and brings Marcus agents in, live', async () => {
    await waitFor(async () => (await health()).services.marcus === 'connected', 10_000)
    const auth = fake.calls.find(c => c.tool === 'authenticate')
    expect(auth?.args).toMatchObject({ client_type: 'observer', role: 'analytics' })
    expect(String(auth?.args.client_id)).toMatch(/^seneca-/)
    const agents = await waitFor(async () => {
      const { body } = await api(server.url, '/api/agents?project_id=proj-fake')
      return body.agents?.length === 2 ? body.agents : undefined
    })
    const byId = Object.fromEntries(agents.map((a: any) => [a.id, a]))
    expect(byId['worker-a']).toMatchObject({ name: 'Alice', type: 'backend', status: 'busy' })
    expect(byId['worker-b']).toMatchObject({ name: 'Bob', status: 'idle' })
    const h = await health()
    expect(h.status).toBe('healthy')
    expect(h.services.mode).toBe('live')
    expect((await wsHello()).mode).toBe('live')
    expect((await events('generic')).map(e => e.type ?? e.payload?.type)).toEqual(expect.arrayContaining(['marcus.project_status', 'marcus.system_metrics']))
  })

  it('turns a status change into exactly one agent.status event; unchanged polls add nothing', async () => {
    await new Promise(r => setTimeout(r, POLL_MS * 3))
    const before = await api(server.url, '/api/events?limit=1')
    const countBefore = (await events('agent.status')).length
    const genericBefore = (await events('generic')).length
    // Several polls with nothing new.
    await new Promise(r => setTimeout(r, POLL_MS * 5))
    expect((await events('agent.status')).length).toBe(countBefore)
    expect((await events('generic')).length).toBe(genericBefore)
    expect(before.status).toBe(200)

    fake.state.agents[1]!.status = 'working'
    await waitFor(async () => (await api(server.url, '/api/agents/worker-b/status')).body.status === 'busy', 5000)
    await new Promise(r => setTimeout(r, POLL_MS * 4))
    const after = await events('agent.status')
    expect(after.length).toBe(countBefore + 1)
  })

  it('forwards clear_queue to Marcus as unassign_task and ends acknowledged', async () => {
    const issued = await api(server.url, '/api/agents/worker-a/commands', { method: 'POST', json: { command: 'clear_queue' } })
    expect(issued.status).toBe(202)
    const command = await waitFor(async () => {
      const { body } = await api(server.url, '/api/agents/worker-a/commands')
      const c = body.commands.find((x: any) => x.command_id === issued.body.command_id)
      return c?.status === 'acknowledged' ? c : undefined
    }, 5000)
    expect(command.status).toBe('acknowledged')
    expect(fake.calls.find(c => c.tool === 'unassign_task')?.args).toEqual({ agent_id: 'worker-a', task_id: 'task-1' })
    // Marcus now reports the agent available.
    await waitFor(async () => (await api(server.url, '/api/agents/worker-a/status')).body.status === 'idle', 5000)
  })

  it('counts a poll that lists an agent as its heartbeat: it stays available, and one marked unavailable comes back', async () => {
    // Neither agent made a tool call for longer than the activity timeout.
    await new Promise(r => setTimeout(r, ACTIVITY_TIMEOUT_MS * 1.5))
    for (const id of ['worker-a', 'worker-b']) expect((await api(server.url, `/api/agents/${id}/status`)).body.status).not.toBe('unavailable')
    const beats = await events('agent.heartbeat')
    expect(beats.some(e => e.source === 'marcus-mcp' && e.payload.agent_id === 'worker-b')).toBe(true)

    // As the health monitor records an agent gone silent.
    const marked = await api(server.url, '/api/ingest', {
      method: 'POST',
      json: { events: [{ kind: 'agent.status', project_id: 'proj-fake', agent_id: 'worker-b', status: 'unavailable', reason: 'no activity for 15 min' }] },
    })
    expect(marked.body.stored).toBe(1)
    // Back as Marcus says (`working`), whether the poll or the health monitor saw it first.
    const back = await waitFor(async () => {
      const { body } = await api(server.url, '/api/agents/worker-b/status')
      return body.status === 'busy' ? body : undefined
    }, 5000)
    expect(back.health.last_heartbeat).not.toBeNull()
  })

  it('goes historical when Marcus dies, keeps serving stored data, and recovers on its own', async () => {
    await fake.kill()
    const down = await waitFor(async () => {
      const h = await health()
      return ['disconnected', 'circuit_open'].includes(h.services.marcus) ? h : undefined
    }, 5000)
    expect(down.status).toBe('degraded')
    expect(down.services.mode).toBe('historical')
    expect((await wsHello()).mode).toBe('historical')
    const { status, body } = await api(server.url, '/api/agents?project_id=proj-fake')
    expect(status).toBe(200)
    expect(body.agents).toHaveLength(2)

    await fake.start()
    const up = await waitFor(async () => {
      const h = await health()
      return h.services.marcus === 'connected' ? h : undefined
    }, 15_000)
    expect(up.services.mode).toBe('live')
    expect(up.status).toBe('healthy')
    expect((await wsHello()).mode).toBe('live')
    // After reconnecting it polls again and sees changes.
    fake.state.agents[1]!.status = 'available'
    await waitFor(async () => (await api(server.url, '/api/agents/worker-b/status')).body.status === 'idle', 5000)
  }, 30_000)
})
