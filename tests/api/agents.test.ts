/** The Agent Management API and the health monitor against the built server. */
import { cpSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, mintTestToken, sessionA, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

let server: TestServer
const MARCUS = '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57'
const ingest = (events: unknown[], auth?: string) => api(server.url, '/api/ingest', { method: 'POST', json: { events }, auth })

beforeAll(async () => {
  const root = tempDir('seneca-agents-')
  cpSync(sessionA, root, { recursive: true })
  server = await startServer({ MARCUS_ROOT: root, SENECA_HEALTH_INTERVAL_MS: '200', SENECA_HEARTBEAT_TIMEOUT_MS: '1500' })
  await waitFor(async () => (await api(server.url, '/api/connectors')).body.connectors[0]?.caught_up, 30_000)
})
afterAll(async () => {
  await server?.dispose()
})

describe('agents from the Marcus session', () => {
  it('marks the silent agent unavailable on the log\'s clock, and only it', async () => {
    await waitFor(async () => (await api(server.url, '/api/agents/agent-database-01/status')).body.status === 'unavailable', 10_000)
    const { body } = await api(server.url, `/api/agents?project_id=${MARCUS}`)
    expect(Object.fromEntries(body.agents.map((a: any) => [a.id, a.status]))).toEqual({
      'agent-backend-01': 'busy', 'agent-database-01': 'unavailable', 'agent-frontend-01': 'busy', 'agent-testing-01': 'busy',
    })
    const alerts = await api(server.url, `/api/alerts?project_id=${MARCUS}`)
    expect(alerts.body.alerts.map((a: any) => [a.type, a.subject_id])).toEqual([['agent_unavailable', 'agent-database-01']])
  })

  it('answers the status of one agent with its current task, queue and health', async () => {
    const { body } = await api(server.url, '/api/agents/agent-backend-01/status')
    expect(body).toMatchObject({
      agent_id: 'agent-backend-01', status: 'busy',
      current_task: { id: '2302800905221492049', description: 'Add task filtering and search endpoint', progress: 0.25 },
      queue: { pending_tasks: 0 },
      health: { status: 'healthy', error_count: 0 },
    })
    expect(body.current_task.estimated_completion).not.toBeNull()
    const silent = await api(server.url, '/api/agents/agent-database-01/status')
    expect(silent.body.health.status).toBe('unhealthy')
    expect(silent.body.health.warnings[0]).toMatch(/^no activity for 6\d min/)
    expect((await api(server.url, '/api/agents/nobody/status')).status).toBe(404)
  })

  it('computes analytics across the project\'s agents', async () => {
    const { body } = await api(server.url, `/api/agents/analytics?project_id=${MARCUS}`)
    expect(body.overview).toMatchObject({ total_agents: 4, active_agents: 3, idle_agents: 0, unavailable_agents: 1, overloaded_agents: 0 })
    expect(body.performance.total_tasks_completed).toBe(19)
    expect(body.performance.peak_throughput).toBeGreaterThanOrEqual(5)
    expect(body.performance.avg_response_time).toBeGreaterThan(0)
    expect(body.efficiency.load_distribution).toBe('balanced')
  })
})

/** The value of one sample in the Prometheus text, 0 when absent. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = (await api(server.url, '/metrics', { auth: false })).body as string
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'))
    if (wanted.every(w => labelText.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return 0
}

describe('agent figures kept incrementally', () => {
  it('sums an agent\'s response times across hours and projects in the list', async () => {
    const H = 3_600_000
    const t0 = Date.UTC(2026, 0, 5, 10)
    const pair = (project: string, conv: string, at: number, ms: number) => [
      { kind: 'message', project_id: project, conversation_id: conv, sender: 'rt-boss', recipient: 'rt-agent', content: 'ping', ts: at },
      { kind: 'message', project_id: project, conversation_id: conv, sender: 'rt-agent', recipient: 'rt-boss', content: 'pong', ts: at + ms },
    ]
    const res = await ingest([
      { kind: 'agent.registered', project_id: 'rt-a', agent_id: 'rt-agent' },
      ...pair('rt-a', 'rt-1', t0, 1000), ...pair('rt-a', 'rt-1', t0 + H, 2000), ...pair('rt-b', 'rt-2', t0 + 5 * H, 6000),
    ])
    expect(res.body.stored).toBe(7)
    const { body } = await api(server.url, '/api/agents?project_id=rt-a')
    expect(body.agents).toHaveLength(1)
    // (1 + 2 + 6) s over three answers, two projects and three hours.
    expect(body.agents[0].performance.avg_response_time).toBe(3)
  })

  it('serves agent analytics from the response cache, and a write shows at once', async () => {
    const path = '/api/agents/analytics?project_id=rt-a'
    const hits = () => metric('cache_requests_total', { cache: 'agent_analytics', result: 'hit' })
    const first = await api(server.url, path)
    const before = await hits()
    const again = await api(server.url, path)
    expect(again.body).toEqual(first.body)
    // Both reads fall in one window (5 s) unless the clock just crossed a boundary.
    expect(await hits()).toBeGreaterThanOrEqual(before)
    await waitFor(async () => {
      await api(server.url, path)
      return (await hits()) > before
    }, 10_000)
    await ingest([{ kind: 'agent.registered', project_id: 'rt-a', agent_id: 'rt-late', capabilities: ['python'] }])
    const after = await api(server.url, path)
    expect(after.body.overview.total_agents).toBe(first.body.overview.total_agents + 1)
  })
})

describe('heartbeats, failure and recovery', () => {
  it('takes heartbeats from an agent\'s ingest key, re-queues on silence, and recovers', async () => {
    const key = (await api(server.url, '/api/keys', { method: 'POST', json: { name: 'fleet', role: 'ingest', projects: ['ops'] } })).body.key
    await ingest([
      { kind: 'agent.registered', project_id: 'ops', agent_id: 'ops-1', capabilities: ['deploy'] },
      { kind: 'agent.registered', project_id: 'ops', agent_id: 'ops-2', capabilities: ['deploy'] },
      { kind: 'task.upserted', project_id: 'ops', task_id: 'rollout', name: 'Roll out', labels: ['deploy'] },
      { kind: 'task.assigned', project_id: 'ops', task_id: 'rollout', agent_id: 'ops-1' },
    ])
    const beat = async (id: string) => api(server.url, `/api/agents/${id}/heartbeat`, { method: 'POST', json: { load: 0.5, metrics: { cpu_usage: 0.4 } }, auth: key })
    expect((await beat('ops-1')).body).toMatchObject({ agent_id: 'ops-1', received: true, status: 'busy' })
    // ops-2 keeps beating, ops-1 goes silent.
    const keepAlive = setInterval(() => void beat('ops-2'), 300)
    try {
      await waitFor(async () => (await api(server.url, '/api/agents/ops-1/status')).body.status === 'unavailable', 10_000)
      const task = await api(server.url, '/api/tasks/rollout')
      expect(task.body.assigned_agent_id).toBe('ops-2')
      expect(task.body.history.at(-1)).toMatchObject({ action: 'requeued', agent_id: 'ops-2', note: 're-queued from ops-1 (unavailable)' })
      expect((await beat('ops-1')).body.status).toBe('idle')
    }
    finally {
      clearInterval(keepAlive)
    }
    const resources = await api(server.url, '/api/agents/ops-1/status')
    expect(resources.body.resources).toMatchObject({ cpu_usage: 0.4, load: 0.5 })
  })

  it('refuses heartbeats for agents of other projects and bad bodies', async () => {
    const key = (await api(server.url, '/api/keys', { method: 'POST', json: { name: 'other', role: 'ingest', projects: ['elsewhere'] } })).body.key
    expect((await api(server.url, '/api/agents/ops-2/heartbeat', { method: 'POST', json: {}, auth: key })).status).toBe(404)
    expect((await api(server.url, '/api/agents/ops-2/heartbeat', { method: 'POST', json: { load: 7 } })).status).toBe(400)
  })
})

describe('commands over REST', () => {
  it('runs a pause through pending → delivered → acknowledged and applies it', async () => {
    const issued = await api(server.url, '/api/agents/ops-2/commands', { method: 'POST', json: { command: 'pause_processing', parameters: { reason: 'maintenance', duration: 300 } } })
    expect(issued.status).toBe(202)
    expect(issued.body).toMatchObject({ agent_id: 'ops-2', command: 'pause_processing', status: 'pending' })
    const key = (await api(server.url, '/api/keys', { method: 'POST', json: { name: 'ops-2', role: 'ingest', projects: ['ops'] } })).body.key
    const polled = await api(server.url, '/api/agents/ops-2/commands?status=pending', { auth: key })
    expect(polled.body.commands.map((c: any) => [c.command_id, c.status])).toEqual([[issued.body.command_id, 'delivered']])
    expect((await api(server.url, '/api/agents/ops-2/commands?status=pending', { auth: key })).body.commands).toEqual([])
    const ack = await api(server.url, `/api/agents/ops-2/commands/${issued.body.command_id}/ack`, { method: 'POST', json: { status: 'acknowledged' }, auth: key })
    expect(ack.body.status).toBe('acknowledged')
    const status = await api(server.url, '/api/agents/ops-2/status')
    expect(status.body).toMatchObject({ status: 'paused', status_reason: 'maintenance', paused: true })
    const history = await api(server.url, '/api/agents/ops-2/commands')
    expect(history.body.commands.find((c: any) => c.command_id === issued.body.command_id).status).toBe('acknowledged')
  })

  it('validates commands and keeps viewers from issuing them', async () => {
    expect((await api(server.url, '/api/agents/ops-2/commands', { method: 'POST', json: { command: 'self_destruct' } })).status).toBe(400)
    expect((await api(server.url, '/api/agents/ghost/commands', { method: 'POST', json: { command: 'clear_queue' } })).status).toBe(404)
    const viewer = await mintTestToken({ role: 'viewer', projects: ['ops'] })
    expect((await api(server.url, '/api/agents/ops-2/commands', { method: 'POST', json: { command: 'clear_queue' }, auth: viewer })).status).toBe(403)
    expect((await api(server.url, '/api/agents/ops-2/commands/cmd_nope/ack', { method: 'POST', json: { status: 'acknowledged' } })).status).toBe(404)
  })
})
