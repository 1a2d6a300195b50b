/**
 * The served OpenAPI document against the built server: every documented route is called,
 * and its answer is parsed with the very schema the document was generated from — a field
 * added, dropped or retyped in code without the schema fails here. Errors are checked
 * against the codes each route documents.
 */
import { cpSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { z } from 'zod'
import { apiRoutes, buildOpenApiDocument, routeErrors } from '../../server/utils/openapi'
import type { ApiRoute } from '../../server/utils/openapi-spec'
import { errorCodes, type ErrorCode } from '../../shared/errors'
import { errorEnvelope, ingestResponse } from '../../shared/responses'
import { api, mintTestToken, sessionA, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

let server: TestServer

const T = Date.UTC(2025, 6, 14, 9, 0, 0)

/** One of each kind of fact, so that every list and detail has rows with their optional parts set. */
const seed = [
  { kind: 'project.upserted', project_id: 'shop', name: 'E-commerce Platform', tags: ['web'] },
  { kind: 'agent.registered', project_id: 'shop', agent_id: 'coder', name: 'Coder', type: 'backend', capabilities: ['python'] },
  { kind: 'agent.heartbeat', project_id: 'shop', agent_id: 'coder', load: 0.4 },
  { kind: 'task.upserted', project_id: 'shop', task_id: 't-0', name: 'Schema', estimated_hours: 2 },
  { kind: 'task.upserted', project_id: 'shop', task_id: 't-1', name: 'Checkout API', estimated_hours: 4, depends_on: ['t-0'], labels: ['api'], due_at: T + 86_400_000 },
  { kind: 'task.assigned', project_id: 'shop', task_id: 't-1', agent_id: 'coder' },
  { kind: 'task.progress', project_id: 'shop', task_id: 't-1', agent_id: 'coder', progress: 50, message: 'handlers written' },
  { kind: 'blocker.reported', project_id: 'shop', task_id: 't-1', agent_id: 'coder', severity: 'high', description: 'sandbox down', suggested_solutions: ['wait'] },
  { kind: 'blocker.resolved', project_id: 'shop', task_id: 't-1', resolution: 'sandbox back' },
  { kind: 'decision.logged', project_id: 'shop', agent_id: 'coder', task_id: 't-1', decision: 'Use idempotency keys', confidence: 0.9, alternatives: ['locks'], factors: { risk: 'low' } },
  { kind: 'message', id: 'm-1', project_id: 'shop', conversation_id: 'review-42', ts: T, sender: 'planner', recipient: 'coder', message_type: 'request', content: 'Please review PR 42', conversation_title: 'Review' },
  { kind: 'message', id: 'm-2', project_id: 'shop', conversation_id: 'review-42', ts: T + 2000, sender: 'coder', recipient: 'planner', message_type: 'response', content: 'Found 3 review issues', in_reply_to: 'm-1', metadata: { tool_calls: ['analyze_code'] } },
  { kind: 'cost.usage', project_id: 'shop', agent_id: 'coder', model: 'claude-sonnet-4', input_tokens: 1200, output_tokens: 300 },
  { kind: 'alert.raised', project_id: 'shop', severity: 'warning', type: 'slow_agent', message: 'coder is slow' },
  { kind: 'generic', project_id: 'shop', type: 'deploy.finished', data: { env: 'staging' } },
  { kind: 'generic', project_id: 'shop', type: 'quality.measured', data: { coverage: 0.85, complexity: 7, security_issues: 0 } },
]

type Call = { path: string, json?: unknown }

/** A pipeline of the `shop` project (its one stage goes to `coder`, who knows python), made on first use. */
async function pipeline(): Promise<string> {
  await api(server.url, '/api/pipelines', { method: 'POST', json: { id: 'ci', project_id: 'shop', name: 'CI', stages: [{ id: 'build', name: 'Build', capability: 'python' }] } })
  return 'ci'
}
async function pipelineRun(): Promise<string> {
  const run = await api(server.url, `/api/pipelines/${await pipeline()}/execute`, { method: 'POST', json: { trigger: 'manual' } })
  return run.body.id
}

/** Requests for the routes that need more than their bare path (parameters, a required query, a body). */
const samples: Record<string, () => Promise<Call> | Call> = {
  ingestEvents: () => ({ path: '/api/ingest', json: { events: [{ kind: 'agent.heartbeat', project_id: 'shop', agent_id: 'coder' }, { kind: 'nope' }] } }),
  getConversation: () => ({ path: '/api/conversations/review-42' }),
  listConversationMessages: () => ({ path: '/api/conversations/review-42/messages' }),
  getConversationsBatch: () => ({ path: '/api/conversations/batch', json: { conversation_ids: ['review-42', 'missing'] } }),
  searchMessages: () => ({ path: '/api/conversations/search?q=review' }),
  listProjectConversations: () => ({ path: '/api/projects/shop/conversations' }),
  attachConversationStream: () => ({ path: '/api/conversations/review-42/stream', json: {} }),
  getTask: () => ({ path: '/api/tasks/t-1' }),
  createProject: () => ({ path: '/api/projects', json: { name: 'Docs site', template: 'web_app', due_at: '2030-01-01', tags: ['docs'], team_requirements: { backend: 1 } } }),
  getProject: () => ({ path: '/api/projects/shop' }),
  updateProjectFeatures: () => ({ path: '/api/projects/shop/features', json: { features: { enable_ai_analysis: true, code_quality_gates: { coverage_threshold: 0.8, complexity_limit: 10, security_scan: true } } } }),
  getProjectWorkflow: () => ({ path: '/api/projects/shop/workflow' }),
  streamConversation: () => ({ path: '/api/conversations/review-42/stream' }),
  createApiKey: () => ({ path: '/api/keys', json: { name: 'docs', role: 'viewer', projects: ['shop'] } }),
  getAgentStatus: () => ({ path: '/api/agents/coder/status' }),
  postAgentHeartbeat: () => ({ path: '/api/agents/coder/heartbeat', json: { load: 0.3, metrics: { cpu_usage: 0.2 } } }),
  issueAgentCommand: () => ({ path: '/api/agents/coder/commands', json: { command: 'request_status_report' } }),
  listAgentCommands: () => ({ path: '/api/agents/coder/commands' }),
  acknowledgeAgentCommand: async () => {
    const issued = await api(server.url, '/api/agents/coder/commands', { method: 'POST', json: { command: 'request_status_report' } })
    return { path: `/api/agents/coder/commands/${issued.body.command_id}/ack`, json: { status: 'acknowledged', result: { ok: true } } }
  },
  definePipeline: () => ({ path: '/api/pipelines', json: { id: 'review', project_id: 'shop', name: 'Review', description: 'Lint then test',
    stages: [{ id: 'lint', name: 'Lint', capability: 'python' }, { id: 'test', name: 'Test', agent_id: 'coder', depends_on: ['lint'], estimated_seconds: 60 }],
    notification_targets: { webhook: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-16-chars' }, slack: { url: 'http://127.0.0.1:9/slack/T000/B000/xyz' } } } }),
  getPipeline: async () => ({ path: `/api/pipelines/${await pipeline()}` }),
  executePipeline: async () => ({ path: `/api/pipelines/${await pipeline()}/execute`, json: { trigger: 'manual', parameters: { branch: 'main' } } }),
  getPipelineVisualization: async () => ({ path: `/api/pipelines/${await pipeline()}/visualization` }),
  listPipelineDeliveries: async () => ({ path: `/api/pipelines/${await pipeline()}/deliveries` }),
  getPipelineRun: async () => ({ path: `/api/pipelines/ci/runs/${await pipelineRun()}` }),
  cancelPipelineRun: async () => ({ path: `/api/pipelines/ci/runs/${await pipelineRun()}/cancel`, json: { reason: 'not needed' } }),
  retryPipelineStage: async () => {
    const runId = await pipelineRun()
    await api(server.url, '/api/ingest', { method: 'POST', json: { events: [{ kind: 'pipeline.stage.updated', project_id: 'shop', run_id: runId, stage_id: 'build', status: 'failed', error: 'boom' }] } })
    await waitFor(async () => (await api(server.url, `/api/pipelines/ci/runs/${runId}`)).body.status === 'failed')
    return { path: `/api/pipelines/ci/runs/${runId}/retry`, json: { stage_id: 'build' } }
  },
  downloadBackup: async () => {
    const created = await api(server.url, '/api/admin/backups', { method: 'POST' })
    return { path: created.body.download }
  },
  revokeApiKey: async () => {
    const created = await api(server.url, '/api/keys', { method: 'POST', json: { name: 'to revoke', role: 'ingest', projects: ['shop'] } })
    return { path: `/api/keys/${created.body.id}` }
  },
  getAgentMemory: () => ({ path: '/api/memory/agents/coder' }),
  getAgentMemoryHistory: () => ({ path: '/api/memory/agents/coder/history?limit=2' }),
  getAgentLearningCurve: () => ({ path: '/api/memory/agents/coder/learning-curve' }),
  predictProjectCompletion: () => ({ path: '/api/patterns/predictions/projects/shop/completion' }),
  predictTaskOutcome: () => ({ path: '/api/patterns/predictions/tasks/t-1' }),
  predictCascade: () => ({ path: '/api/patterns/predictions/cascade?task_id=t-0&delay_hours=2' }),
  getContextGraph: () => ({ path: '/api/context/projects/shop/graph' }),
  getTaskContext: () => ({ path: '/api/context/tasks/t-1' }),
  getTaskImpact: () => ({ path: '/api/context/tasks/t-0/impact?delay_hours=1' }),
  getProjectCosts: () => ({ path: '/api/costs/projects/shop' }),
  getAgentCosts: () => ({ path: '/api/costs/agents/coder' }),
  resolveModelPrice: () => ({ path: '/api/costs/prices/resolve?model=claude-sonnet-4&project_id=shop' }),
  createModelPrice: () => ({ path: '/api/costs/prices', json: { model_pattern: 'claude-sonnet-4*', provider: 'anthropic', project_id: 'shop', input_per_mtok: 2, output_per_mtok: 10, cache_read_per_mtok: 0.2, note: 'negotiated' } }),
  updateModelPrice: async () => {
    const created = await api(server.url, '/api/costs/prices', { method: 'POST', json: { model_pattern: 'house-model', input_per_mtok: 1, output_per_mtok: 2 } })
    return { path: `/api/costs/prices/${created.body.price.id}`, json: { output_per_mtok: 3 } }
  },
  deleteModelPrice: async () => {
    const created = await api(server.url, '/api/costs/prices', { method: 'POST', json: { model_pattern: 'old-model', input_per_mtok: 1, output_per_mtok: 2 } })
    return { path: `/api/costs/prices/${created.body.price.id}` }
  },
  createBudget: () => ({ path: '/api/costs/budgets', json: { name: 'Shop monthly', project_id: 'shop', period: 'month', limit_usd: 500, warning_usd: 400 } }),
  getBudget: async () => ({ path: `/api/costs/budgets/${await budget()}` }),
  updateBudget: async () => ({ path: `/api/costs/budgets/${await budget()}`, json: { limit_usd: 600, action: 'pause' } }),
  deleteBudget: async () => ({ path: `/api/costs/budgets/${await budget()}` }),
}

/** A budget of the `shop` project's coder, made for each request that needs one. */
async function budget(): Promise<string> {
  return (await api(server.url, '/api/costs/budgets', { method: 'POST', json: { project_id: 'shop', scope: 'agent', scope_id: 'coder', period: 'day', limit_usd: 50 } })).body.id
}

function bare(route: ApiRoute): Call {
  const required = Object.values(route.query?.shape ?? {}).some(field => !(field as z.ZodType).safeParse(undefined).success)
  if (route.path.includes('{') || required || route.body) throw new Error(`add a request for ${route.operationId} to samples in tests/api/openapi.test.ts`)
  return { path: route.path }
}

const isJson = (r: ApiRoute) => !r.upgrade && Object.values(r.responses).some(s => s?.schema)
const mediaTypeOf = (r: ApiRoute) => Object.values(r.responses).find(s => s?.mediaType)?.mediaType

beforeAll(async () => {
  const marcusRoot = tempDir('seneca-openapi-marcus-')
  cpSync(sessionA, marcusRoot, { recursive: true })
  // Generous general limits, so that only the small `keys` budget is ever reached.
  server = await startServer({ MARCUS_ROOT: marcusRoot, SENECA_MARCUS_POLL_MS: '100', SENECA_RATE_LIMITS: 'on', SENECA_RATE_LIMIT_PER_MINUTE: '100000', SENECA_RATE_LIMIT_PER_HOUR: '1000000' })
  const stored = await api(server.url, '/api/ingest', { method: 'POST', json: { events: seed } })
  expect(stored.status, JSON.stringify(stored.body)).toBe(200)
  ingestResponse.parse(stored.body)
  await waitFor(async () => (await api(server.url, '/api/connectors')).body.connectors?.[0]?.caught_up, 30_000)
})

afterAll(async () => {
  await server?.dispose()
})

describe('GET /api/openapi.json', () => {
  it('serves the document built from the registry, without credentials', async () => {
    const res = await api(server.url, '/api/openapi.json', { auth: false })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    expect(res.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())))
  })
})

describe('every documented JSON route answers as its schema says', () => {
  for (const route of apiRoutes.filter(isJson)) {
    it(`${route.method.toUpperCase()} ${route.path} (${route.operationId})`, async () => {
      const call = await (samples[route.operationId]?.() ?? bare(route))
      const res = await api(server.url, call.path, { method: route.method.toUpperCase(), json: call.json })
      const spec = route.responses[res.status]
      expect(spec?.schema, `undocumented ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`).toBeDefined()
      const parsed = spec!.schema!.safeParse(res.body)
      expect(parsed.error?.issues ?? [], JSON.stringify(res.body).slice(0, 1000)).toEqual([])
      // zod drops keys a schema does not name: a field the code added is missing from the parse.
      expect(parsed.data, 'the answer has fields the schema does not document').toEqual(res.body)
    })
  }

  it('has a request for every JSON route and nothing else', () => {
    const known = new Set(apiRoutes.map(r => r.operationId))
    expect(Object.keys(samples).filter(id => !known.has(id))).toEqual([])
  })
})

describe('the routes that are not JSON', () => {
  for (const route of apiRoutes.filter(r => !r.upgrade && mediaTypeOf(r))) {
    it(`${route.method.toUpperCase()} ${route.path} answers ${mediaTypeOf(route)}`, async () => {
      const call = await (samples[route.operationId]?.() ?? bare(route))
      // A stream never ends: read the head, then hang up.
      const abort = new AbortController()
      const res = await fetch(server.url + call.path, { headers: { authorization: `Bearer ${server.adminKey}` }, signal: abort.signal })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')?.startsWith(mediaTypeOf(route)!)).toBe(true)
      abort.abort()
    })
  }

  it('upgrades /api/ws to a WebSocket (101)', async () => {
    const route = apiRoutes.find(r => r.operationId === 'connectWebSocket')!
    expect(route.responses[101]).toBeDefined()
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${server.adminKey}`)
    const status = await new Promise<number>((ok, fail) => {
      ws.once('upgrade', res => ok(res.statusCode ?? 0))
      ws.once('error', fail)
    })
    ws.close()
    expect(status).toBe(101)
  })
})

describe('conditional GETs', () => {
  it('answers 304 to a current If-None-Match, as documented for GET routes under /api', async () => {
    const first = await api(server.url, '/api/tasks')
    const etag = first.headers.get('etag')
    expect(etag).toBeTruthy()
    const again = await api(server.url, '/api/tasks', { headers: { 'if-none-match': etag! } })
    expect(again.status).toBe(304)
    const documented = buildOpenApiDocument().paths['/api/tasks']!.get!
    expect(Object.keys(documented.responses as object)).toContain('304')
  })
})

describe('errors are the envelope, with a code the route documents', () => {
  const cases: { operationId: string, path: string, method?: string, json?: unknown, auth?: () => Promise<string | false>, code: ErrorCode }[] = [
    { operationId: 'getConversation', path: '/api/conversations/no-such-conversation', code: 'CONVERSATION_NOT_FOUND' },
    { operationId: 'listConversations', path: '/api/conversations?limit=abc', code: 'VALIDATION_FAILED' },
    { operationId: 'listConversations', path: '/api/conversations?cursor=bogus', code: 'INVALID_CURSOR' },
    { operationId: 'listConversationMessages', path: '/api/conversations/review-42/messages?before=nope', code: 'MESSAGE_NOT_FOUND' },
    { operationId: 'listTasks', path: '/api/tasks', auth: async () => false, code: 'UNAUTHORIZED' },
    { operationId: 'listConversations', path: '/api/conversations', auth: () => mintTestToken({ role: 'ingest', projects: ['shop'] }), code: 'FORBIDDEN' },
    { operationId: 'getTask', path: '/api/tasks/no-such-task', code: 'TASK_NOT_FOUND' },
    { operationId: 'listProjectConversations', path: '/api/projects/no-such-project/conversations', code: 'PROJECT_NOT_FOUND' },
    { operationId: 'getConversationsBatch', path: '/api/conversations/batch', method: 'POST', json: { conversation_ids: Array.from({ length: 51 }, (_, i) => `c${i}`) }, code: 'BATCH_TOO_LARGE' },
    { operationId: 'ingestEvents', path: '/api/ingest', method: 'POST', json: { nothing: true }, code: 'VALIDATION_FAILED' },
    { operationId: 'revokeApiKey', path: '/api/keys/key_missing', method: 'DELETE', code: 'KEY_NOT_FOUND' },
    { operationId: 'getPipeline', path: '/api/pipelines/no-such-pipeline', code: 'PIPELINE_NOT_FOUND' },
    { operationId: 'getPipelineRun', path: '/api/pipelines/ci/runs/no-such-run', code: 'PIPELINE_RUN_NOT_FOUND' },
  ]

  for (const c of cases) {
    it(`${c.operationId}: ${c.code}`, async () => {
      const route = apiRoutes.find(r => r.operationId === c.operationId)!
      const auth = c.auth ? await c.auth() : undefined
      const res = await api(server.url, c.path, { method: c.method, json: c.json, ...(auth === undefined ? {} : { auth }) })
      expect(res.status, JSON.stringify(res.body)).toBe(errorCodes[c.code])
      const envelope = errorEnvelope.parse(res.body)
      expect(envelope.error.code).toBe(c.code)
      expect(envelope.error.request_id).toBe(res.headers.get('x-request-id'))
      expect(routeErrors(route)).toContain(envelope.error.code)
    })
  }

  it('a burst of key creations is RATE_LIMITED, a documented code', async () => {
    const route = apiRoutes.find(r => r.operationId === 'createApiKey')!
    // Its own admin, so that the burst spends no other test's budget.
    const token = await mintTestToken({ role: 'admin', sub: 'burst' })
    let res = await api(server.url, '/api/keys', { method: 'POST', json: { name: 'burst', role: 'viewer', projects: ['shop'] }, auth: token })
    for (let i = 0; i < 20 && res.status !== 429; i++) {
      res = await api(server.url, '/api/keys', { method: 'POST', json: { name: 'burst', role: 'viewer', projects: ['shop'] }, auth: token })
    }
    expect(res.status).toBe(429)
    expect(errorEnvelope.parse(res.body).error.code).toBe('RATE_LIMITED')
    expect(routeErrors(route)).toContain('RATE_LIMITED')
  })

  it('malformed JSON on a route with a body is INVALID_JSON, a documented code', async () => {
    const res = await api(server.url, '/api/ingest', { method: 'POST', body: '{"events": [', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
    expect(errorEnvelope.parse(res.body).error.code).toBe('INVALID_JSON')
    expect(routeErrors(apiRoutes.find(r => r.operationId === 'ingestEvents')!)).toContain('INVALID_JSON')
  })
})
