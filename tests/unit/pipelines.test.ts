import { readFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mapLegacyPipelines } from '../../server/marcus/pipelines'
import { sendSmtpMail } from '../../server/utils/smtp'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'
import {
  chooseStageAgent, getPipelineRun, layoutPipelineStages, listPipelines, pipelineMetrics, pipelineVisualization, reactToPipelineEvents,
  stageExecutionOrder, stageGraphIssues, type AgentCandidate, type StageDef,
} from '../../server/utils/pipelines'

beforeEach(() => setDatabase(openDatabase(':memory:')))
afterEach(() => closeDatabase())

/** Ingests like a client and lets the pipelines react, as the plugin does. */
function send(events: Record<string, unknown>[], source = 'test') {
  const out = ingest(events.map(e => ({ project_id: 'p', ...e })), source)
  expect(out.results.filter(r => r.status === 'rejected')).toEqual([])
  return reactToPipelineEvents(out.events)
}

const review: StageDef[] = [
  { id: 'lint', name: 'Lint', capability: 'lint' },
  { id: 'test', name: 'Test', capability: 'test', depends_on: ['lint'] },
  { id: 'docs', name: 'Docs', capability: 'docs', depends_on: ['lint'] },
  { id: 'deploy', name: 'Deploy', agent_id: 'deployer', depends_on: ['test', 'docs'] },
]

function setUp() {
  send([
    { kind: 'agent.registered', agent_id: 'linter', capabilities: ['lint'] },
    { kind: 'agent.registered', agent_id: 'tester', capabilities: ['test', 'docs'] },
    { kind: 'agent.registered', agent_id: 'writer', capabilities: ['docs'] },
    { kind: 'agent.registered', agent_id: 'deployer', capabilities: [] },
    { kind: 'pipeline.defined', pipeline_id: 'pipe', name: 'Review', stages: review },
  ])
}

const run = (runId = 'r1') => getPipelineRun('pipe', runId, null)
const statuses = (runId = 'r1') => Object.fromEntries(run(runId).stages.map(s => [s.id, s.status]))
const stage = (id: string, runId = 'r1') => run(runId).stages.find(s => s.id === id)!

describe('pipeline graphs', () => {
  it('refuses unknown dependencies, self dependencies, duplicates and cycles', () => {
    expect(stageGraphIssues(review)).toEqual([])
    expect(stageGraphIssues([{ id: 'a', name: 'A', depends_on: ['ghost'] }])[0]!.message).toContain('unknown stage \'ghost\'')
    expect(stageGraphIssues([{ id: 'a', name: 'A', depends_on: ['a'] }])[0]!.message).toContain('depends on itself')
    expect(stageGraphIssues([{ id: 'a', name: 'A' }, { id: 'a', name: 'B' }])[0]!.message).toContain('duplicate')
    const cycle = stageGraphIssues([{ id: 'a', name: 'A', depends_on: ['c'] }, { id: 'b', name: 'B', depends_on: ['a'] }, { id: 'c', name: 'C', depends_on: ['b'] }, { id: 'd', name: 'D' }])
    expect(cycle).toEqual([{ path: 'stages', message: 'dependency cycle through stages \'a\', \'b\', \'c\'' }])
  })

  it('orders stages topologically, ties by start time', () => {
    expect(stageExecutionOrder(review)).toEqual(['lint', 'test', 'docs', 'deploy'])
    expect(stageExecutionOrder(review, new Map([['lint', 1], ['test', 30], ['docs', 20]]))).toEqual(['lint', 'docs', 'test', 'deploy'])
  })

  it('lays stages out in layers with dagre', () => {
    const { positions } = layoutPipelineStages(review)
    const x = (id: string) => positions.get(id)!.x
    expect(x('lint')).toBeLessThan(x('test'))
    expect(x('test')).toBe(x('docs'))
    expect(positions.get('test')!.y).not.toBe(positions.get('docs')!.y)
    expect(x('deploy')).toBeGreaterThan(x('test'))
  })
})

describe('routing a stage to an agent', () => {
  const agent = (over: Partial<AgentCandidate>): AgentCandidate => ({ id: 'a', status: 'idle', paused: false, capabilities: [], open_tasks: 0, ...over })

  it('takes the named agent when it is healthy, else the capable agent with the fewest open tasks', () => {
    const agents = [
      agent({ id: 'named', status: 'unavailable', capabilities: ['test'] }),
      agent({ id: 'busy', status: 'busy', capabilities: ['test'], open_tasks: 3 }),
      agent({ id: 'calm', status: 'idle', capabilities: ['test'], open_tasks: 1 }),
      agent({ id: 'paused', status: 'idle', paused: true, capabilities: ['test'] }),
      agent({ id: 'other', capabilities: ['lint'] }),
    ]
    expect(chooseStageAgent({ agent_id: 'busy', capability: 'test' }, agents)).toBe('busy')
    expect(chooseStageAgent({ agent_id: 'named', capability: 'test' }, agents)).toBe('calm')
    expect(chooseStageAgent({ capability: 'deploy' }, agents)).toBeNull()
    expect(chooseStageAgent({ agent_id: 'named' }, agents)).toBeNull()
  })
})

describe('running a pipeline', () => {
  it('starts stages in dependency order as tasks assigned to capable agents', () => {
    setUp()
    send([{ kind: 'pipeline.run.started', pipeline_id: 'pipe', run_id: 'r1' }])
    expect(statuses()).toEqual({ lint: 'running', test: 'pending', docs: 'pending', deploy: 'pending' })
    const lint = stage('lint')
    expect(lint).toMatchObject({ agent: 'linter', task_id: 'r1.lint.1', attempt: 1 })
    const task = useDatabase().sqlite.prepare('SELECT status, assigned_agent_id, pipeline_run_id FROM tasks WHERE id = ?').get('r1.lint.1')
    expect(task).toEqual({ status: 'in_progress', assigned_agent_id: 'linter', pipeline_run_id: 'r1' })

    // The agent reports through its task: the stage completes and both dependants start,
    // docs going to the capable agent with fewer open tasks (tester holds test).
    send([{ kind: 'task.progress', task_id: 'r1.lint.1', agent_id: 'linter', progress: 100 }])
    expect(statuses()).toEqual({ lint: 'completed', test: 'running', docs: 'running', deploy: 'pending' })
    expect(stage('test').agent).toBe('tester')
    expect(stage('docs').agent).toBe('writer')

    // … or through a stage report.
    send([{ kind: 'pipeline.stage.updated', run_id: 'r1', stage_id: 'test', status: 'running', progress: 0.5, agent_id: 'tester' }])
    expect(stage('test').progress).toBe(0.5)
    send([
      { kind: 'pipeline.stage.updated', run_id: 'r1', stage_id: 'test', status: 'completed', agent_id: 'tester' },
      { kind: 'pipeline.stage.updated', run_id: 'r1', stage_id: 'docs', status: 'completed', agent_id: 'writer' },
    ])
    expect(useDatabase().sqlite.prepare('SELECT status FROM tasks WHERE id = ?').get('r1.test.1')).toEqual({ status: 'done' })
    expect(statuses()).toEqual({ lint: 'completed', test: 'completed', docs: 'completed', deploy: 'running' })
    send([{ kind: 'task.progress', task_id: 'r1.deploy.1', agent_id: 'deployer', status: 'completed' }])
    expect(run()).toMatchObject({ status: 'completed', execution_path: ['lint', 'test', 'docs', 'deploy'] })
    // Re-running the reactor stores nothing new.
    expect(reactToPipelineEvents(ingest([{ kind: 'pipeline.stage.updated', project_id: 'p', run_id: 'r1', stage_id: 'deploy', status: 'completed' }], 'test').events)).toEqual([])
  })

  it('skips the dependants of a failed stage, fails the run, and retries from the failed stage', () => {
    setUp()
    send([{ kind: 'pipeline.run.started', pipeline_id: 'pipe', run_id: 'r1' }])
    send([{ kind: 'task.progress', task_id: 'r1.lint.1', agent_id: 'linter', status: 'done' }])
    send([{ kind: 'task.progress', task_id: 'r1.docs.1', agent_id: 'writer', status: 'done' }])
    send([{ kind: 'task.progress', task_id: 'r1.test.1', agent_id: 'tester', status: 'failed', message: '3 tests failed' }])
    expect(statuses()).toEqual({ lint: 'completed', test: 'failed', docs: 'completed', deploy: 'skipped' })
    expect(run().status).toBe('failed')
    expect(stage('test').error).toBe('3 tests failed')

    // Retry: test and deploy go again (new attempts, new tasks); lint and docs keep their results.
    send([
      { kind: 'pipeline.stage.updated', run_id: 'r1', stage_id: 'test', status: 'pending' },
      { kind: 'pipeline.stage.updated', run_id: 'r1', stage_id: 'deploy', status: 'pending' },
    ])
    expect(run().status).toBe('running')
    expect(stage('test')).toMatchObject({ status: 'running', attempt: 2, task_id: 'r1.test.2', error: null })
    send([{ kind: 'task.progress', task_id: 'r1.test.2', agent_id: 'tester', status: 'done' }])
    send([{ kind: 'task.progress', task_id: 'r1.deploy.2', agent_id: 'deployer', status: 'done' }])
    expect(statuses()).toEqual({ lint: 'completed', test: 'completed', docs: 'completed', deploy: 'completed' })
    expect(run().status).toBe('completed')
  })

  it('cancels the open stages and their tasks', () => {
    setUp()
    send([{ kind: 'pipeline.run.started', pipeline_id: 'pipe', run_id: 'r1' }])
    send([{ kind: 'pipeline.run.finished', run_id: 'r1', status: 'cancelled' }])
    expect(statuses()).toEqual({ lint: 'cancelled', test: 'cancelled', docs: 'cancelled', deploy: 'cancelled' })
    expect(useDatabase().sqlite.prepare('SELECT status FROM tasks WHERE id = ?').get('r1.lint.1')).toEqual({ status: 'cancelled' })
    expect(useDatabase().sqlite.prepare('SELECT status, current_task_id FROM agents WHERE id = ?').get('linter')).toEqual({ status: 'idle', current_task_id: null })
    // A late report of the cancelled stage changes nothing.
    send([{ kind: 'pipeline.stage.updated', run_id: 'r1', stage_id: 'lint', status: 'completed' }])
    expect(run().status).toBe('cancelled')
    expect(stage('lint').status).toBe('cancelled')
  })

  it('lets a stage wait for a capable agent, and starts it when one arrives', () => {
    send([{ kind: 'pipeline.defined', pipeline_id: 'solo', name: 'Solo', stages: [{ id: 'scan', name: 'Scan', capability: 'security' }] }])
    send([{ kind: 'pipeline.run.started', pipeline_id: 'solo', run_id: 'r9' }])
    expect(getPipelineRun('solo', 'r9', null).stages[0]).toMatchObject({ status: 'pending', task_id: 'r9.scan.1', agent: null })
    send([{ kind: 'agent.registered', agent_id: 'sec', capabilities: ['security'] }])
    expect(getPipelineRun('solo', 'r9', null).stages[0]).toMatchObject({ status: 'running', agent: 'sec' })
  })

  it('refuses runs of unknown pipelines and stages of unknown runs', () => {
    const out = ingest([
      { kind: 'pipeline.run.started', project_id: 'p', pipeline_id: 'nope', run_id: 'r' },
      { kind: 'pipeline.stage.updated', project_id: 'p', run_id: 'nope', stage_id: 's', status: 'running' },
    ], 'test')
    expect(out.results.map(r => r.error?.code)).toEqual(['PIPELINE_NOT_FOUND', 'PIPELINE_RUN_NOT_FOUND'])
  })
})

describe('pipeline views', () => {
  it('computes metrics from runs and stage runs', () => {
    const runs = [
      { status: 'completed', started_at: 0, finished_at: 100_000 },
      { status: 'failed', started_at: 200_000, finished_at: 260_000 },
      { status: 'cancelled', started_at: 300_000, finished_at: 310_000 },
    ]
    const stages = [
      { status: 'completed', started_at: 0, finished_at: 20_000 },
      { status: 'completed', started_at: 0, finished_at: 25_000 },
      { status: 'failed', started_at: 0, finished_at: 5000 },
    ] as const
    expect(pipelineMetrics(runs as never, [...stages] as never)).toEqual({ total_duration: 80, success_rate: 0.5, avg_stage_time: 22.5, runs: 3 })
    expect(pipelineMetrics([{ status: 'running', started_at: 0, finished_at: null }] as never, [], 30_000)).toMatchObject({ total_duration: 30, success_rate: null })
  })

  it('lists pipelines with the latest run and shows the diagram with live statuses', () => {
    setUp()
    send([{ kind: 'pipeline.run.started', pipeline_id: 'pipe', run_id: 'r1' }])
    const [pipe] = listPipelines({}, null).pipelines
    expect(pipe).toMatchObject({ id: 'pipe', status: 'running', latest_run_id: 'r1' })
    expect(pipe!.stages[0]).toMatchObject({ id: 'lint', status: 'running', agent: 'linter' })
    expect(listPipelines({}, ['other']).pipelines).toEqual([])
    const viz = pipelineVisualization('pipe', undefined, null)
    expect(viz.layout).toBe('dagre')
    expect(viz.nodes.find(n => n.id === 'lint')).toMatchObject({ type: 'process', label: 'Lint', status: 'running', agent: 'linter' })
    expect(viz.edges).toContainEqual({ id: 'lint->test', source: 'lint', target: 'test', type: 'dependency' })
    expect(viz.execution_path).toEqual(['lint', 'test', 'docs', 'deploy'])
    expect(() => pipelineVisualization('pipe', undefined, ['other'])).toThrow(/does not exist/)
  })
})

describe('Marcus legacy pipeline_events.json', () => {
  const file = join(import.meta.dirname, '../fixtures/marcus-pipelines/logs/pipeline_events.json')

  it('imports flows as pipeline runs, keeps unknown records, and a re-read stores nothing', () => {
    const doc = JSON.parse(readFileSync(file, 'utf8'))
    const { events, stats } = mapLegacyPipelines(doc, 'marcus')
    expect(stats).toEqual({ flows: 3, events: 8, unknown: 2, malformed: 0 })
    const out = ingest(events, 'marcus-log')
    expect(out.results.filter(r => r.status === 'rejected')).toEqual([])
    expect(reactToPipelineEvents(out.events)).toEqual([])

    const todo = getPipelineRun('marcus-flow-f3a1c2d4-0001', 'marcus-run-f3a1c2d4-0001', null)
    expect(todo).toMatchObject({ status: 'completed', trigger: 'marcus-legacy', started_at: '2025-07-10T14:23:01.120Z', finished_at: '2025-07-10T14:24:12.500Z' })
    expect(todo.stages.map(s => [s.id, s.status])).toEqual([['mcp_request', 'completed'], ['ai_analysis', 'completed'], ['task_generation', 'completed'], ['task_creation', 'completed']])
    expect(todo.execution_path).toEqual(['mcp_request', 'ai_analysis', 'task_generation', 'task_creation'])
    const weather = getPipelineRun('marcus-flow-f3a1c2d4-0002', 'marcus-run-f3a1c2d4-0002', null)
    expect(weather.status).toBe('failed')
    expect(weather.stages.map(s => s.status)).toEqual(['completed', 'failed'])
    expect(weather.stages[1]).toMatchObject({ id: 'ai_analysis', status: 'failed', error: 'AI provider timeout after 45s' })
    expect(getPipelineRun('marcus-flow-f3a1c2d4-0003', 'marcus-run-f3a1c2d4-0003', null).status).toBe('running')
    // Observed runs are never driven: no tasks were started for them.
    expect(useDatabase().sqlite.prepare('SELECT count(*) AS n FROM tasks').get()).toEqual({ n: 0 })
    expect(useDatabase().sqlite.prepare(`SELECT count(*) AS n FROM events WHERE kind = 'generic'`).get()).toEqual({ n: 2 })

    expect(ingest(mapLegacyPipelines(doc, 'marcus').events, 'marcus-log').stored).toBe(0)
  })

  it('survives documents of any shape', () => {
    for (const doc of [null, [], 'x', { flows: 'no', events: {} }, { events: [{ flow_id: 'f', stage: 5 }] }]) {
      const out = ingest(mapLegacyPipelines(doc, 'marcus').events, 'marcus-log')
      expect(out.results.filter(r => r.status === 'rejected')).toEqual([])
    }
  })
})

describe('email notifications', () => {
  it('sends a run summary through SMTP (a local sink)', async () => {
    const received: string[] = []
    const sink = createNetServer((socket) => {
      let inData = false
      let buffer = ''
      socket.write('220 sink ready\r\n')
      socket.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        let nl: number
        while ((nl = buffer.indexOf('\r\n')) >= 0) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 2)
          if (inData) {
            if (line === '.') {
              inData = false
              socket.write('250 queued\r\n')
            }
            else received.push(line)
            continue
          }
          const verb = line.split(/[ :]/)[0]!.toUpperCase()
          if (verb === 'EHLO') socket.write('250-sink\r\n250 AUTH PLAIN\r\n')
          else if (verb === 'AUTH') socket.write('235 ok\r\n')
          else if (verb === 'DATA') {
            inData = true
            socket.write('354 go on\r\n')
          }
          else if (verb === 'QUIT') socket.end('221 bye\r\n')
          else socket.write('250 ok\r\n')
        }
      })
    })
    await new Promise<void>(ok => sink.listen(0, '127.0.0.1', ok))
    const port = (sink.address() as { port: number }).port
    await sendSmtpMail(`smtp://ops:secret@127.0.0.1:${port}`, { from: 'seneca@localhost', to: ['ops@example.com'], subject: 'Pipeline Review: run r1 failed', text: 'x Test (failed)\n.dot line' })
    sink.close()
    expect(received).toContain('Subject: Pipeline Review: run r1 failed')
    expect(received).toContain('To: ops@example.com')
    expect(received).toContain('..dot line')
  })
})
