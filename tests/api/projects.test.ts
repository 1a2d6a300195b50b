/** The Project Management API against the built server. */
import { cpSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, mintTestToken, sessionA, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

let server: TestServer
const MARCUS = '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57'

beforeAll(async () => {
  const root = tempDir('seneca-projects-')
  cpSync(sessionA, root, { recursive: true })
  server = await startServer({ MARCUS_ROOT: root })
  await waitFor(async () => (await api(server.url, '/api/connectors')).body.connectors[0]?.caught_up, 30_000)
})
afterAll(async () => {
  await server?.dispose()
})

describe('projects', () => {
  it('computes progress, team and risk of the Marcus project from its tasks and agents', async () => {
    const { body } = await api(server.url, '/api/projects')
    const marcus = body.projects.find((p: any) => p.id === MARCUS)
    expect(marcus).toMatchObject({
      name: 'Task Master Test', provider: 'planka', tags: ['test', 'demo'],
      progress: { total_tasks: 25, completed_tasks: 19, in_progress_tasks: 3, blocked_tasks: 2, completion_percentage: 0.76 },
      team: { total_agents: 4 },
      health: { risk_level: 'medium', issues: ['2 of 6 open tasks blocked'] },
    })
    const { body: detail } = await api(server.url, `/api/projects/${MARCUS}`)
    expect(detail.velocity.completed_in_window).toBe(19)
    expect(detail.velocity.estimated_hours_per_hour).toBeGreaterThan(0)
  })

  it('creates a project from a template with its starting workflow', async () => {
    const res = await api(server.url, '/api/projects', { method: 'POST', json: {
      name: 'Mobile App Development', description: 'Cross-platform mobile application', template: 'mobile_app',
      configuration: { target_platforms: ['ios', 'android'], framework: 'react_native', backend_integration: true },
      team_requirements: { frontend_agents: 2, backend_agents: 1, testing_agents: 1 },
    } })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ name: 'Mobile App Development', template: 'mobile_app', progress: { total_tasks: 9, completed_tasks: 0 },
      configuration: { framework: 'react_native' }, team_requirements: { frontend_agents: 2 } })
    const wf = await api(server.url, `/api/projects/${res.body.id}/workflow`)
    expect(wf.body.stages.map((s: any) => s.id)).toEqual(['planning', 'development', 'testing', 'release'])
    expect(wf.body.critical_path_tasks.length).toBeGreaterThan(2)
    expect(wf.body.dependencies).toContainEqual({ from: 'planning', to: 'development', type: 'finish_to_start' })
  })

  it('rejects bad project bodies and duplicate ids', async () => {
    for (const body of [{}, { name: '' }, { name: 'x', template: 'spaceship' }, { name: 'x', surprise: true }, { name: 'x', id: 'has space' }]) {
      const res = await api(server.url, '/api/projects', { method: 'POST', json: body })
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('VALIDATION_FAILED')
    }
    expect((await api(server.url, '/api/projects', { method: 'POST', json: { id: 'dup', name: 'Dup' } })).status).toBe(201)
    const again = await api(server.url, '/api/projects', { method: 'POST', json: { id: 'dup', name: 'Dup' } })
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('CONFLICT')
  })

  it('validates features and evaluates quality gates from measurements', async () => {
    await api(server.url, '/api/projects', { method: 'POST', json: { id: 'gated', name: 'Gated', template: 'api_service' } })
    const bad = await api(server.url, '/api/projects/gated/features', { method: 'PUT', json: { features: { code_quality_gates: { coverage_threshold: 2 } } } })
    expect(bad.status).toBe(400)
    const put = await api(server.url, '/api/projects/gated/features', { method: 'PUT', json: { features: {
      enable_ai_analysis: true, enable_auto_testing: true, code_quality_gates: { coverage_threshold: 0.8, complexity_limit: 10, security_scan: true },
    } } })
    expect(put.status).toBe(200)
    expect(put.body.quality_gates.gates.map((g: any) => g.status)).toEqual(['no_data', 'no_data', 'no_data'])
    await api(server.url, '/api/ingest', { method: 'POST', json: { events: [
      { kind: 'generic', project_id: 'gated', type: 'quality.measured', data: { coverage: 0.85, complexity: 14, security_issues: 0 } },
    ] } })
    const { body } = await api(server.url, '/api/projects/gated')
    expect(body.features.enable_ai_analysis).toBe(true)
    expect(body.quality_gates.gates).toEqual([
      { gate: 'coverage', threshold: 0.8, measured: 0.85, status: 'passed' },
      { gate: 'complexity', threshold: 10, measured: 14, status: 'failed' },
      { gate: 'security_scan', threshold: true, measured: 0, status: 'passed' },
    ])
  })

  it('keeps projects of others out of sight', async () => {
    const member = await mintTestToken({ role: 'member', projects: ['gated'] })
    const list = await api(server.url, '/api/projects', { auth: member })
    expect(list.body.projects.map((p: any) => p.id)).toEqual(['gated'])
    expect((await api(server.url, `/api/projects/${MARCUS}`, { auth: member })).status).toBe(404)
    expect((await api(server.url, `/api/projects/${MARCUS}/workflow`, { auth: member })).status).toBe(404)
    expect((await api(server.url, `/api/projects/${MARCUS}/features`, { method: 'PUT', json: { features: {} }, auth: member })).status).toBe(403)
    expect((await api(server.url, '/api/projects', { method: 'POST', json: { name: 'mine' }, auth: member })).status).toBe(403)
    expect((await api(server.url, '/api/projects/nope')).status).toBe(404)
  })
})
