/** The pure parts of the project, pipeline, cost and insight pages: graph layout, burndown, chart options. */
import { describe, expect, it } from 'vitest'
import { buildBurndown } from '../../utils/burndown'
import { burndownOption, costOverTimeOption, knowledgeGraphOption, learningCurveOption } from '../../utils/charts-reports'
import { edgePath, layeredLayout } from '../../utils/graph-layout'

const task = (created: string, completed: string | null, hours: number | null = 2, status = completed ? 'done' : 'in_progress') =>
  ({ created_at: created, completed_at: completed, status, estimated_hours: hours })

describe('layered layout', () => {
  it('puts a stage one column after the longest chain of stages it depends on', () => {
    const { nodes } = layeredLayout(['design', 'api', 'ui', 'ship'], [
      { from: 'design', to: 'api' }, { from: 'api', to: 'ui' }, { from: 'design', to: 'ship' }, { from: 'ui', to: 'ship' },
    ])
    expect([...nodes.values()].map(n => [n.id, n.layer])).toEqual([['design', 0], ['api', 1], ['ui', 2], ['ship', 3]])
    expect(nodes.get('api')!.x).toBeGreaterThan(nodes.get('design')!.x)
  })

  it('stacks independent stages in one column and centres a lone neighbour between them', () => {
    const { nodes, height } = layeredLayout(['a', 'b', 'c'], [{ from: 'a', to: 'c' }, { from: 'b', to: 'c' }], { nodeHeight: 40, rowGap: 20, margin: 10 })
    expect(nodes.get('a')!.x).toBe(nodes.get('b')!.x)
    expect(nodes.get('b')!.y - nodes.get('a')!.y).toBe(60)
    expect(nodes.get('c')!.y).toBe(height / 2)
  })

  it('survives a dependency cycle and ignores edges to unknown stages', () => {
    const { nodes } = layeredLayout(['x', 'y'], [{ from: 'x', to: 'y' }, { from: 'y', to: 'x' }, { from: 'ghost', to: 'x' }])
    expect(nodes.size).toBe(2)
    expect(new Set([...nodes.values()].map(n => n.layer)).size).toBeGreaterThan(0)
  })

  it('draws an edge from the right side of one node to the left side of the next', () => {
    expect(edgePath({ x: 100, y: 50 }, { x: 300, y: 90 }, 80)).toBe('M 180 50 C 200 50, 200 90, 220 90')
  })
})

describe('burndown from tasks', () => {
  it('counts the tasks that existed and were not done at each point', () => {
    const b = buildBurndown([
      task('2026-03-02T09:00:00Z', '2026-03-02T10:00:00Z', 4),
      task('2026-03-02T09:00:00Z', null, 3),
      task('2026-03-02T10:30:00Z', '2026-03-02T11:00:00Z', 1),
    ], 5)!
    expect(b.points.map(p => p.open)).toEqual([2, 2, 1, 2, 1])
    expect(b.points.map(p => p.hours)).toEqual([7, 7, 3, 4, 3])
    expect(b.start).toBe(Date.parse('2026-03-02T09:00:00Z'))
    expect(b.end).toBe(Date.parse('2026-03-02T11:00:00Z'))
    expect(b.openNow).toBe(1)
    expect(b.total).toBe(3)
  })

  it('ends at the latest activity, not today, so an imported session is not a flat line to now', () => {
    const b = buildBurndown([task('2026-03-02T09:00:00Z', '2026-03-02T12:00:00Z')])!
    expect(b.end).toBe(Date.parse('2026-03-02T12:00:00Z'))
    expect(b.points.at(-1)!.open).toBe(0)
  })

  it('runs on to now while the project is being worked on', () => {
    const now = Date.parse('2026-03-02T12:00:00Z')
    const b = buildBurndown([task('2026-03-02T09:00:00Z', null), task('2026-03-02T09:00:00Z', '2026-03-02T10:00:00Z')], 4, now)!
    expect(b.end).toBe(now)
    expect(b.points.map(p => p.open)).toEqual([2, 1, 1, 1])
  })

  it('has nothing to show without tasks', () => {
    expect(buildBurndown([])).toBeNull()
  })
})

describe('chart options', () => {
  it('adds an ideal line to zero at the due date only when there is one', () => {
    const b = buildBurndown([task('2026-03-02T09:00:00Z', null), task('2026-03-02T09:00:00Z', '2026-03-02T11:00:00Z')], 3)!
    const names = (o: ReturnType<typeof burndownOption>) => (o.series as { name: string }[]).map(s => s.name)
    expect(names(burndownOption(b))).toEqual(['open tasks', 'estimated hours left'])
    const withDue = burndownOption(b, undefined, Date.parse('2026-03-02T11:00:00Z'))
    const ideal = (withDue.series as { name: string, data: number[] }[]).find(s => s.name === 'ideal')!
    expect(ideal.data[0]).toBe(2)
    expect(ideal.data.at(-1)).toBe(0)
  })

  it('stacks spend per group on the buckets of the total series', () => {
    const points = [{ start: '2026-03-01T00:00:00.000Z', cost: 1.5 }, { start: '2026-03-02T00:00:00.000Z', cost: 2 }]
    const o = costOverTimeOption(points, [
      { key: 'claude-sonnet-4', cost: 3, points: [{ start: '2026-03-01T00:00:00.000Z', cost: 1 }, { start: '2026-03-02T00:00:00.000Z', cost: 2 }] },
      { key: null, cost: 0.5, points: [{ start: '2026-03-01T00:00:00.000Z', cost: 0.5 }] },
    ])
    const series = o.series as { name: string, stack: string, data: number[] }[]
    expect(series.map(s => [s.name, s.stack, s.data])).toEqual([['claude-sonnet-4', 'cost', [1, 2]], ['(none)', 'cost', [0.5, 0]]])
    expect((o.xAxis as { data: string[] }).data).toEqual(['2026-03-01', '2026-03-02'])
    expect((costOverTimeOption(points, undefined).series as { data: number[] }[])[0]!.data).toEqual([1.5, 2])
  })

  it('shows rates as percentages and keeps weeks without a measure as gaps', () => {
    const o = learningCurveOption([
      { week_start: '2026-03-02T00:00:00.000Z', finished: 4, success_rate: 0.75, accuracy: null, cumulative_success_rate: 0.75, cumulative_accuracy: null },
    ])
    const series = o.series as { name: string, data: (number | null)[] }[]
    expect(series.find(s => s.name === 'success rate')!.data).toEqual([75])
    expect(series.find(s => s.name === 'estimate accuracy')!.data).toEqual([null])
    expect(series.find(s => s.name === 'finished')!.data).toEqual([4])
  })

  it('gives each node type of the knowledge graph its own category', () => {
    const o = knowledgeGraphOption({
      nodes: [{ id: 'project:p', type: 'project', label: 'P' }, { id: 'agent:a', type: 'agent', label: 'A' }, { id: 'task:t', type: 'task', label: 'T' }],
      edges: [{ source: 'task:t', target: 'project:p', type: 'belongs_to' }, { source: 'agent:a', target: 'task:t', type: 'worked_on' }],
    })
    const [graph] = o.series as { categories: { name: string }[], data: { id: string, category: number, symbolSize: number }[], links: unknown[] }[]
    expect(graph!.categories.map(c => c.name)).toEqual(['project', 'agent', 'task'])
    expect(graph!.data.map(d => d.category)).toEqual([0, 1, 2])
    expect(graph!.data[2]!.symbolSize).toBeGreaterThan(graph!.data[0]!.symbolSize)
    expect(graph!.links).toHaveLength(2)
  })
})
