import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, setDatabase } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'
import { assessRisk, createProject, criticalPath, getProject, listProjects, measureVelocity, projectWorkflow, type TaskRow } from '../../server/utils/projects'

const H = 3_600_000
const task = (over: Partial<TaskRow>): TaskRow => ({
  id: 't', name: 't', status: 'todo', progress: 0, estimated_hours: 1, labels: '[]', assigned_agent_id: null, started_at: null, completed_at: null, due_at: null, ...over,
})

beforeEach(() => setDatabase(openDatabase(':memory:')))
afterEach(() => closeDatabase())

describe('critical path', () => {
  it('follows the longest chain of remaining hours', () => {
    // a(2) → b(3) → d(1); a → c(5) → d: the chain through c is longer (8 vs 6).
    const nodes = [['a', 2], ['b', 3], ['c', 5], ['d', 1]].map(([id, h]) => ({ id: id as string, stage: 's', status: 'todo', remaining: h as number }))
    const edges = [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'b', to: 'd' }, { from: 'c', to: 'd' }]
    expect(criticalPath(nodes, edges)).toEqual({ tasks: ['a', 'c', 'd'], hours: 8, cyclic: [] })
  })

  it('moves when a task on it is done', () => {
    const nodes = [['a', 2], ['b', 3], ['c', 0], ['d', 1]].map(([id, h]) => ({ id: id as string, stage: 's', status: 'todo', remaining: h as number }))
    const edges = [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'b', to: 'd' }, { from: 'c', to: 'd' }]
    expect(criticalPath(nodes, edges).tasks).toEqual(['a', 'b', 'd'])
  })

  it('reports tasks in a dependency cycle instead of looping', () => {
    const nodes = ['x', 'y', 'z'].map(id => ({ id, stage: 's', status: 'todo', remaining: 1 }))
    const out = criticalPath(nodes, [{ from: 'x', to: 'y' }, { from: 'y', to: 'x' }])
    expect(out.cyclic.sort()).toEqual(['x', 'y'])
    expect(out.tasks).toEqual(['z'])
  })
})

describe('velocity and risk', () => {
  it('measures estimated hours done per hour and the estimate ratio', () => {
    // two tasks of 2 h estimated, each took 1 h, over a 2 h span: 4 est-h / 2 h = 2; ratio 0.5
    const v = measureVelocity([
      task({ id: 'a', status: 'done', estimated_hours: 2, started_at: 0, completed_at: H }),
      task({ id: 'b', status: 'done', estimated_hours: 2, started_at: H, completed_at: 2 * H }),
      task({ id: 'c' }),
    ], 10 * H)
    expect(v).toEqual({ estimated_hours_per_hour: 2, estimate_ratio: 0.5, completed_in_window: 2 })
  })

  it('grades risk from blocked share, overdue work and velocity against the due date', () => {
    const counts = { total: 10, done: 6, in_progress: 2, blocked: 0, overdue: 0 }
    const velocity = { estimated_hours_per_hour: 1, estimate_ratio: 1, completed_in_window: 6 }
    expect(assessRisk({ counts, velocity, remainingHours: 4, dueAt: 10 * H, unavailableAgents: 0, now: 0 }).risk_level).toBe('low')
    // 2 of 4 open blocked (3 points) + needs 4 h in 2 h at 1/h (ratio 0.5 → 2 points) = 5: critical
    const risky = assessRisk({ counts: { ...counts, blocked: 2 }, velocity, remainingHours: 4, dueAt: 2 * H, unavailableAgents: 0, now: 0 })
    expect(risky).toMatchObject({ risk_level: 'critical', status: 'critical', velocity_vs_required: 0.5 })
    expect(risky.issues).toEqual(['2 of 4 open tasks blocked', 'velocity is 50% of what the due date needs'])
    expect(assessRisk({ counts: { ...counts, overdue: 1 }, velocity, remainingHours: 4, dueAt: null, unavailableAgents: 1, now: 0 }).risk_level).toBe('medium')
  })
})

describe('projects from templates', () => {
  it('creates the starting workflow with stages, dependencies and a critical path', () => {
    const p = createProject({ id: 'web', name: 'Web', template: 'web_app' }, 'test')
    expect(p.progress).toMatchObject({ total_tasks: 11, completed_tasks: 0 })
    const wf = projectWorkflow('web', null)
    expect(wf.stages.map(s => s.id)).toEqual(['planning', 'design', 'development', 'testing', 'deployment'])
    expect(wf.dependencies).toContainEqual({ from: 'planning', to: 'design', type: 'finish_to_start' })
    // requirements 4 → architecture 6 → database 8 (longer than api_design 4) → backend 16 → integration 8 → ci_cd 4 → release 2
    expect(wf.critical_path_tasks).toEqual(['web:requirements', 'web:architecture', 'web:database', 'web:backend', 'web:integration_tests', 'web:ci_cd', 'web:release'])
    expect(wf.critical_path_hours).toBe(48)
    expect(wf.critical_path).toEqual(['planning', 'development', 'testing', 'deployment'])
    expect(wf.estimated_completion).toBeNull()
  })

  it('computes progress, stage status and an estimated completion from measured work', () => {
    createProject({ id: 'api', name: 'API', template: 'api_service' }, 'test')
    const now = Date.now()
    ingest([
      { kind: 'task.assigned', project_id: 'api', task_id: 'api:contract', agent_id: 'w', ts: now - 3 * H },
      { kind: 'task.progress', project_id: 'api', task_id: 'api:contract', agent_id: 'w', progress: 100, ts: now - 2 * H },
      { kind: 'task.assigned', project_id: 'api', task_id: 'api:data_model', agent_id: 'w', ts: now - 2 * H },
      { kind: 'task.progress', project_id: 'api', task_id: 'api:data_model', agent_id: 'w', progress: 50, ts: now - H },
    ], 'test')
    const wf = projectWorkflow('api', null)
    expect(wf.stages[0]).toMatchObject({ id: 'design', status: 'in_progress', completed_tasks: 1, tasks: 2, progress: 0.8 })
    expect(wf.velocity).toMatchObject({ estimated_hours_per_hour: 6, estimate_ratio: 0.1667 })
    expect(wf.estimated_completion).not.toBeNull()
    expect(getProject('api', null).progress).toMatchObject({ total_tasks: 9, completed_tasks: 1, in_progress_tasks: 1 })
  })

  it('groups tasks without stage labels by dependency depth', () => {
    ingest([
      { kind: 'task.upserted', project_id: 'm', task_id: 'a', name: 'a' },
      { kind: 'task.upserted', project_id: 'm', task_id: 'b', name: 'b', depends_on: ['a'] },
      { kind: 'task.upserted', project_id: 'm', task_id: 'c', name: 'c', depends_on: ['b'] },
    ], 'test')
    expect(projectWorkflow('m', null).stages.map(s => [s.id, s.task_ids])).toEqual([['level-1', ['a']], ['level-2', ['b']], ['level-3', ['c']]])
  })

  it('lists only projects in scope', () => {
    createProject({ id: 'one', name: 'One' }, 'test')
    createProject({ id: 'two', name: 'Two' }, 'test')
    expect(listProjects({}, ['two']).projects.map(p => p.id)).toEqual(['two'])
  })
})
