/** The Pipelines API against the built server: a multi-agent run end to end, notifications to local receivers. */
import { createHmac } from 'node:crypto'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { pipelineDeliveriesResponse, pipelineDetailResponse, pipelineRunResponse, pipelineVisualizationResponse } from '../../shared/responses'
import { api, freePort, mintTestToken, repoRoot, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

let server: TestServer
let receiver: Server
let hooks: string
const SECRET = 'whsec-0123456789abcdef'

type Received = { path: string, headers: IncomingHttpHeaders, body: string }
const received: Received[] = []
/** Answers for the flaky endpoint, in order; then 200. */
const flakyAnswers = [500, 500]

beforeAll(async () => {
  const port = await freePort()
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body })
      res.statusCode = req.url === '/flaky' ? flakyAnswers.shift() ?? 200 : 200
      res.end('ok')
    })
  })
  await new Promise<void>(ok => receiver.listen(port, '127.0.0.1', ok))
  hooks = `http://127.0.0.1:${port}`
  server = await startServer({ SENECA_RATE_LIMITS: 'off', SENECA_NOTIFY_RETRY_DELAYS_MS: '50,100,200' })
  const agents = [['linter', 'lint'], ['tester', 'test'], ['writer', 'docs'], ['deployer', 'deploy']]
  const res = await ingest(agents.map(([id, cap]) => ({ kind: 'agent.registered', project_id: 'acme', agent_id: id, capabilities: [cap] })))
  expect(res.status).toBe(200)
})

afterAll(async () => {
  await server?.dispose()
  await new Promise(ok => receiver?.close(ok))
})

const ingest = (events: Record<string, unknown>[]) => api(server.url, '/api/ingest', { method: 'POST', json: { events } })
const runOf = async (runId: string, pipeline = 'review') => (await api(server.url, `/api/pipelines/${pipeline}/runs/${runId}`)).body
const stagesOf = async (runId: string, pipeline = 'review') =>
  Object.fromEntries((await runOf(runId, pipeline)).stages.map((s: { id: string, status: string }) => [s.id, s.status]))
const until = (runId: string, want: Record<string, string>, pipeline = 'review') =>
  waitFor(async () => JSON.stringify(await stagesOf(runId, pipeline)) === JSON.stringify(want) && true, 10_000)

const stages = [
  { id: 'lint', name: 'Code Linting', capability: 'lint' },
  { id: 'test', name: 'Unit Testing', capability: 'test', depends_on: ['lint'] },
  { id: 'docs', name: 'Docs', capability: 'docs', depends_on: ['lint'] },
  { id: 'deploy', name: 'Deploy', agent_id: 'deployer', depends_on: ['test', 'docs'] },
]

function verify(r: Received) {
  const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`
  expect(r.headers['x-seneca-signature']).toBe(expected)
  return JSON.parse(r.body)
}

describe('pipelines', () => {
  it('refuses invalid graphs and email without SMTP', async () => {
    const cycle = await api(server.url, '/api/pipelines', { method: 'POST', json: { project_id: 'acme', name: 'Loop', stages: [
      { id: 'a', name: 'A', capability: 'x', depends_on: ['b'] }, { id: 'b', name: 'B', capability: 'x', depends_on: ['a'] }] } })
    expect(cycle.status).toBe(400)
    expect(cycle.body.error.code).toBe('VALIDATION_FAILED')
    expect(cycle.body.error.details.issues[0].message).toContain('cycle')
    const unknown = await api(server.url, '/api/pipelines', { method: 'POST', json: { project_id: 'acme', name: 'Bad', stages: [{ id: 'a', name: 'A', capability: 'x', depends_on: ['ghost'] }] } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.details.issues[0]).toMatchObject({ path: 'stages.0.depends_on.0' })
    const noAgent = await api(server.url, '/api/pipelines', { method: 'POST', json: { project_id: 'acme', name: 'Bad', stages: [{ id: 'a', name: 'A' }] } })
    expect(noAgent.status).toBe(400)
    const email = await api(server.url, '/api/pipelines', { method: 'POST', json: { project_id: 'acme', name: 'Mail', stages: [{ id: 'a', name: 'A', capability: 'x' }], notification_targets: { email: { to: ['ops@example.com'] } } } })
    expect(email.status).toBe(400)
    expect(email.body.error.message).toContain('SENECA_SMTP_URL')
  })

  it('defines a pipeline; secrets are not shown', async () => {
    const res = await api(server.url, '/api/pipelines', { method: 'POST', json: {
      id: 'review', project_id: 'acme', name: 'Code Review Pipeline', stages,
      notification_targets: { webhook: { url: `${hooks}/hook`, secret: SECRET }, slack: { url: `${hooks}/slack/T000/B000/token` } },
    } })
    expect(res.status).toBe(201)
    pipelineDetailResponse.parse(res.body)
    expect(res.body).toMatchObject({ id: 'review', project_id: 'acme', status: 'idle', metrics: { runs: 0, success_rate: null } })
    expect(JSON.stringify(res.body)).not.toContain(SECRET)
    expect(JSON.stringify(res.body)).not.toContain('token')
    expect((await api(server.url, '/api/pipelines', { method: 'POST', json: { id: 'review', project_id: 'acme', name: 'Again', stages } })).status).toBe(409)
    const email = await api(server.url, '/api/pipelines/review/execute', { method: 'POST', json: { notifications: { on_failure: ['email'] } } })
    expect(email.status).toBe(400)
    expect(email.body.error.code).toBe('VALIDATION_FAILED')
  })

  let runId = ''

  it('runs stages in dependency order; a failure skips dependants and fails the run', async () => {
    const res = await api(server.url, '/api/pipelines/review/execute', { method: 'POST', json: {
      trigger: 'manual', parameters: { branch: 'feature/new-component', environment: 'staging' },
      notifications: { on_completion: ['webhook', 'slack'], on_failure: ['webhook'] },
    } })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    pipelineRunResponse.parse(res.body)
    runId = res.body.id
    expect(res.body.stages.map((s: { status: string }) => s.status)).toEqual(['running', 'pending', 'pending', 'pending'])
    expect(res.body.stages[0]).toMatchObject({ agent: 'linter', task_id: `${runId}.lint.1` })

    // The linter reports through its task: test and docs start, deploy waits for both.
    await ingest([{ kind: 'task.progress', project_id: 'acme', task_id: `${runId}.lint.1`, agent_id: 'linter', progress: 100 }])
    await until(runId, { lint: 'completed', test: 'running', docs: 'running', deploy: 'pending' })
    const run = await runOf(runId)
    expect(run.stages.find((s: { id: string }) => s.id === 'test').agent).toBe('tester')

    // Progress through a stage report, completion of docs, then test fails.
    await ingest([
      { kind: 'pipeline.stage.updated', project_id: 'acme', run_id: runId, stage_id: 'test', status: 'running', progress: 0.7, agent_id: 'tester' },
      { kind: 'pipeline.stage.updated', project_id: 'acme', run_id: runId, stage_id: 'docs', status: 'completed', agent_id: 'writer' },
    ])
    const list = await api(server.url, '/api/pipelines?project_id=acme')
    expect(list.body.pipelines[0].stages.find((s: { id: string }) => s.id === 'test')).toMatchObject({ status: 'running', progress: 0.7, agent: 'tester' })
    await ingest([{ kind: 'task.progress', project_id: 'acme', task_id: `${runId}.test.1`, agent_id: 'tester', status: 'failed', message: '3 tests failed' }])
    await until(runId, { lint: 'completed', test: 'failed', docs: 'completed', deploy: 'skipped' })
    expect((await runOf(runId)).status).toBe('failed')

    const hook = await waitFor(() => received.find(r => r.path === '/hook' && r.headers['x-seneca-event'] === 'pipeline.run.failed'))
    const body = verify(hook)
    expect(body).toMatchObject({ event: 'pipeline.run.failed', pipeline: { id: 'review' }, run: { id: runId, status: 'failed' } })
    expect(hook.headers['x-seneca-delivery']).toBe(body.delivery_id)
    expect(received.some(r => r.path.startsWith('/slack'))).toBe(false)
  })

  it('retries from the failed stage and completes the run', async () => {
    const bad = await api(server.url, `/api/pipelines/review/runs/${runId}/retry`, { method: 'POST', json: { stage_id: 'lint' } })
    expect(bad.status).toBe(409)
    const res = await api(server.url, `/api/pipelines/review/runs/${runId}/retry`, { method: 'POST', json: { stage_id: 'test' } })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.status).toBe('running')
    expect(res.body.stages.find((s: { id: string }) => s.id === 'test')).toMatchObject({ status: 'running', attempt: 2, task_id: `${runId}.test.2` })
    await ingest([{ kind: 'task.progress', project_id: 'acme', task_id: `${runId}.test.2`, agent_id: 'tester', status: 'completed' }])
    await until(runId, { lint: 'completed', test: 'completed', docs: 'completed', deploy: 'running' })
    await ingest([{ kind: 'pipeline.stage.updated', project_id: 'acme', run_id: runId, stage_id: 'deploy', status: 'completed', agent_id: 'deployer' }])
    await waitFor(async () => (await runOf(runId)).status === 'completed')

    const hook = await waitFor(() => received.find(r => r.path === '/hook' && r.headers['x-seneca-event'] === 'pipeline.run.completed'))
    expect(verify(hook).stages.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed'])
    const slack = await waitFor(() => received.find(r => r.path.startsWith('/slack')))
    const message = JSON.parse(slack.body)
    expect(message.text).toContain('Code Review Pipeline')
    expect(message.text).toContain('completed')
    expect(message.blocks[0].type).toBe('section')
  })

  it('lays the pipeline out with dagre and shows live statuses and the execution path', async () => {
    const res = await api(server.url, `/api/pipelines/review/visualization?run_id=${runId}`)
    expect(res.status).toBe(200)
    pipelineVisualizationResponse.parse(res.body)
    const node = (id: string) => res.body.nodes.find((n: { id: string }) => n.id === id)
    expect(res.body.layout).toBe('dagre')
    expect(node('lint').position.x).toBeLessThan(node('test').position.x)
    expect(node('test').position.x).toBe(node('docs').position.x)
    expect(node('test').position.y).not.toBe(node('docs').position.y)
    expect(node('deploy').position.x).toBeGreaterThan(node('docs').position.x)
    expect(node('deploy')).toMatchObject({ type: 'process', label: 'Deploy', status: 'completed', agent: 'deployer' })
    expect(res.body.edges).toContainEqual({ id: 'lint->test', source: 'lint', target: 'test', type: 'dependency' })
    expect(res.body.execution_path[0]).toBe('lint')
    expect(res.body.execution_path.at(-1)).toBe('deploy')
  })

  it('cancels a run', async () => {
    const run = await api(server.url, '/api/pipelines/review/execute', { method: 'POST', json: { trigger: 'manual' } })
    const res = await api(server.url, `/api/pipelines/review/runs/${run.body.id}/cancel`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('cancelled')
    expect(res.body.stages.map((s: { status: string }) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled'])
    const task = await api(server.url, `/api/tasks/${run.body.id}.lint.1`)
    expect(task.body.status).toBe('cancelled')
    expect((await api(server.url, `/api/pipelines/review/runs/${run.body.id}/cancel`, { method: 'POST' })).status).toBe(409)
  })

  it('computes metrics from the runs', async () => {
    const { body } = await api(server.url, '/api/pipelines?project_id=acme')
    const review = body.pipelines.find((p: { id: string }) => p.id === 'review')
    expect(review.status).toBe('cancelled')
    expect(review.metrics.runs).toBe(2)
    // One finished run (completed); the cancelled one does not count against success.
    expect(review.metrics.success_rate).toBe(1)
    expect(review.metrics.total_duration).toBeGreaterThan(0)
    expect(review.metrics.avg_stage_time).toBeGreaterThanOrEqual(0)
  })

  it('retries a webhook that answers 500 and logs every attempt', async () => {
    const def = await api(server.url, '/api/pipelines', { method: 'POST', json: {
      id: 'flaky', project_id: 'acme', name: 'Flaky', stages: [{ id: 'only', name: 'Only', capability: 'lint' }],
      notification_targets: { webhook: { url: `${hooks}/flaky`, secret: SECRET } },
    } })
    expect(def.status).toBe(201)
    const run = await api(server.url, '/api/pipelines/flaky/execute', { method: 'POST', json: {} })
    await ingest([{ kind: 'task.progress', project_id: 'acme', task_id: `${run.body.id}.only.1`, agent_id: 'linter', status: 'done' }])
    const log = await waitFor(async () => {
      const res = await api(server.url, '/api/pipelines/flaky/deliveries')
      return res.body.deliveries?.length === 3 && res.body
    })
    pipelineDeliveriesResponse.parse(log)
    expect(log.deliveries.map((d: { attempt: number, status: string, status_code: number }) => [d.attempt, d.status, d.status_code]))
      .toEqual([[3, 'delivered', 200], [2, 'retrying', 500], [1, 'retrying', 500]])
    expect(new Set(log.deliveries.map((d: { delivery_id: string }) => d.delivery_id)).size).toBe(1)
    const attempts = received.filter(r => r.path === '/flaky')
    expect(attempts).toHaveLength(3)
    attempts.forEach(verify)
  })

  it('takes stage progress over the WebSocket, through the ingest path and within the connection\'s projects', async () => {
    type Frame = { event: string, data: Record<string, any> }
    const connect = async (token: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${encodeURIComponent(token)}`)
      const frames: Frame[] = []
      ws.on('message', raw => frames.push(JSON.parse(raw.toString())))
      await waitFor(() => frames.some(f => f.event === 'connection_established'), 5000)
      let next = 0
      const send = async (data: Record<string, unknown>) => {
        const request_id = ++next
        ws.send(JSON.stringify({ event: 'stage_progress', data: { ...data, request_id } }))
        return waitFor(() => frames.find(f => f.data?.request_id === request_id), 5000)
      }
      return { ws, send }
    }
    const def = await api(server.url, '/api/pipelines', { method: 'POST', json: { id: 'relay', project_id: 'acme', name: 'Relay', stages: [{ id: 'only', name: 'Only', capability: 'lint' }] } })
    expect(def.status).toBe(201)
    const run = (await api(server.url, '/api/pipelines/relay/execute', { method: 'POST', json: {} })).body
    const agent = await connect(await mintTestToken({ role: 'member', projects: ['acme'] }))
    try {
      const progress = await agent.send({ id: 'relay-progress-1', run_id: run.id, stage_id: 'only', status: 'running', progress: 0.4, agent_id: 'linter' })
      expect(progress).toMatchObject({ event: 'stage_progress_received', data: { status: 'stored', run_id: run.id, stage_id: 'only', event_id: 'relay-progress-1' } })
      expect((await runOf(run.id, 'relay')).stages[0]).toMatchObject({ status: 'running', progress: 0.4 })
      const stored = (await api(server.url, '/api/events?kind=pipeline.stage.updated&limit=1000')).body.events.find((e: { id: string }) => e.id === 'relay-progress-1')
      expect(stored).toMatchObject({ project_id: 'acme', source: 'ws', seq: progress.data.seq })
      // A re-send with the same id is a no-op, as on POST /api/ingest.
      expect((await agent.send({ id: 'relay-progress-1', run_id: run.id, stage_id: 'only', status: 'running', progress: 0.4 })).data.status).toBe('duplicate')
      const bad = await agent.send({ run_id: run.id, stage_id: 'only', status: 'almost' })
      expect(bad).toMatchObject({ event: 'error', data: { code: 'VALIDATION_FAILED' } })
      const ghost = await agent.send({ run_id: 'no-such-run', stage_id: 'only', status: 'running' })
      expect(ghost).toMatchObject({ event: 'error', data: { code: 'PIPELINE_RUN_NOT_FOUND' } })
      // Completing the stage finishes its task and the run, as a report through the ingest API does.
      expect((await agent.send({ run_id: run.id, stage_id: 'only', status: 'completed', agent_id: 'linter' })).data.status).toBe('stored')
      await waitFor(async () => (await runOf(run.id, 'relay')).status === 'completed')
      expect((await api(server.url, `/api/tasks/${run.id}.only.1`)).body.status).toBe('done')
    }
    finally {
      agent.ws.close()
    }
    const run2 = (await api(server.url, '/api/pipelines/relay/execute', { method: 'POST', json: {} })).body
    const outsider = await connect(await mintTestToken({ role: 'member', projects: ['other'] }))
    const viewer = await connect(await mintTestToken({ role: 'viewer', projects: ['acme'] }))
    try {
      expect((await outsider.send({ run_id: run2.id, stage_id: 'only', status: 'failed' })).data.code).toBe('PIPELINE_RUN_NOT_FOUND')
      expect((await outsider.send({ project_id: 'acme', run_id: run2.id, stage_id: 'only', status: 'failed' })).data.code).toBe('FORBIDDEN')
      expect((await viewer.send({ run_id: run2.id, stage_id: 'only', status: 'failed' })).data.code).toBe('FORBIDDEN')
      expect((await runOf(run2.id, 'relay')).stages[0].status).toBe('running')
    }
    finally {
      outsider.ws.close()
      viewer.ws.close()
    }
  })

  it('keeps pipelines of other projects out of reach', async () => {
    const member = await mintTestToken({ role: 'member', projects: ['other'] })
    expect((await api(server.url, '/api/pipelines', { auth: member })).body.pipelines).toEqual([])
    expect((await api(server.url, '/api/pipelines?project_id=acme', { auth: member })).status).toBe(403)
    expect((await api(server.url, '/api/pipelines/review', { auth: member })).status).toBe(404)
    expect((await api(server.url, '/api/pipelines/review/visualization', { auth: member })).status).toBe(404)
    expect((await api(server.url, '/api/pipelines/review/execute', { method: 'POST', json: {}, auth: member })).status).toBe(404)
    expect((await api(server.url, `/api/pipelines/review/runs/${runId}`, { auth: member })).status).toBe(404)
    const define = await api(server.url, '/api/pipelines', { method: 'POST', json: { project_id: 'acme', name: 'X', stages: [{ id: 'a', name: 'A', capability: 'x' }] }, auth: member })
    expect(define.status).toBe(403)
    const viewer = await mintTestToken({ role: 'viewer', projects: ['acme'] })
    expect((await api(server.url, '/api/pipelines/review', { auth: viewer })).status).toBe(200)
    expect((await api(server.url, '/api/pipelines/review/execute', { method: 'POST', json: {}, auth: viewer })).status).toBe(403)
    // An agent of another project cannot move a stage of this one.
    const ingestKey = await mintTestToken({ role: 'ingest', projects: ['other'] })
    const moved = await api(server.url, '/api/ingest', { method: 'POST', auth: ingestKey, json: { events: [{ kind: 'pipeline.stage.updated', project_id: 'other', run_id: runId, stage_id: 'lint', status: 'failed' }] } })
    expect(moved.body.results[0].status).toBe('rejected')
  })
})

describe('Marcus legacy pipeline_events.json', () => {
  it('imports flows as pipeline runs and reads the file again when it changes', async () => {
    const root = tempDir('seneca-legacy-pipelines-')
    cpSync(join(repoRoot, 'tests/fixtures/marcus-pipelines'), root, { recursive: true })
    const marcus = await startServer({ MARCUS_ROOT: root, SENECA_MARCUS_POLL_MS: '100' })
    try {
      const list = await waitFor(async () => {
        const res = await api(marcus.url, '/api/pipelines')
        return res.body.pipelines?.length === 3 && res.body.pipelines
      }, 15_000)
      expect(list.map((p: { id: string, status: string }) => [p.id, p.status])).toEqual([
        ['marcus-flow-f3a1c2d4-0003', 'running'], ['marcus-flow-f3a1c2d4-0001', 'completed'], ['marcus-flow-f3a1c2d4-0002', 'failed'],
      ])
      const file = join(root, 'logs/pipeline_events.json')
      const doc = JSON.parse(readFileSync(file, 'utf8'))
      doc.flows['f3a1c2d4-0003'].status = 'completed'
      doc.events.push({ flow_id: 'f3a1c2d4-0003', timestamp: '2025-07-11T16:41:00.000000', stage: 'task_creation', event_type: 'pipeline_completed', status: 'completed' })
      writeFileSync(file, JSON.stringify(doc))
      await waitFor(async () => (await api(marcus.url, '/api/pipelines/marcus-flow-f3a1c2d4-0003')).body.status === 'completed', 15_000)
      const run = await api(marcus.url, '/api/pipelines/marcus-flow-f3a1c2d4-0003/runs/marcus-run-f3a1c2d4-0003')
      expect(run.body.stages.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed'])
    }
    finally {
      await marcus.dispose()
    }
  })
})
