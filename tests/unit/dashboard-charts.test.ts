/** The dashboards' pure helpers: chart option builders, formatting, metadata reading, performance figures. */
import { describe, expect, it } from 'vitest'
import { activityFromLive, activityFromStored } from '../../utils/activity'
import { completionsPerDay, estimateVsActual } from '../../utils/agent-performance'
import { communicationGraphOption, edgeColour, fallbackPalette as p } from '../../utils/charts'
import { formatDuration, formatMoney, formatRelative, sinceOf } from '../../utils/format'
import { timingsOf, toolCallsOf } from '../../utils/messages'

describe('communication graph option', () => {
  const graph = {
    nodes: [{ id: 'planner', sent: 10, received: 5, errors: 0 }, { id: 'coder', sent: 5, received: 10, errors: 3 }],
    edges: [
      { source: 'planner', target: 'coder', messages: 10, errors: 0, avg_response_time_ms: null },
      { source: 'coder', target: 'planner', messages: 5, errors: 3, avg_response_time_ms: 1200 },
    ],
    total_messages: 15, omitted_messages: 0,
  }

  it('draws heavier edges wider and edges with many errors in the error colour', () => {
    const series = (communicationGraphOption(graph, p).series as any[])[0]
    const [heavy, light] = series.links
    expect(heavy.lineStyle.width).toBeGreaterThan(light.lineStyle.width)
    expect(heavy.lineStyle.color).toBe(p.muted)
    expect(light.lineStyle.color).toBe(p.bad)
    expect(series.data.map((n: any) => n.id)).toEqual(['planner', 'coder'])
    expect(series.data[1].itemStyle.color).toBe(p.bad)
  })

  it('escapes names in tooltips', () => {
    const option = communicationGraphOption({ ...graph, nodes: [{ id: '<b>x</b>', sent: 1, received: 0, errors: 0 }], edges: [] }, p)
    expect((option.series as any[])[0].data[0].tooltip.formatter).toContain('&lt;b&gt;')
  })

  it('colours by the share of errors', () => {
    expect(edgeColour(100, 0, p)).toBe(p.muted)
    expect(edgeColour(100, 5, p)).toBe(p.warn)
    expect(edgeColour(100, 20, p)).toBe(p.bad)
  })
})

describe('formatting', () => {
  it('formats durations, money and relative times once for every page', () => {
    expect(formatDuration(850)).toBe('850 ms')
    expect(formatDuration(12_400)).toBe('12 s')
    expect(formatDuration(200_000)).toBe('3 min 20 s')
    expect(formatMoney(12.5)).toBe('$12.50')
    expect(formatMoney(null)).toBe('—')
    const now = Date.parse('2026-03-02T12:00:00Z')
    expect(formatRelative('2026-03-02T11:59:30Z', now)).toBe('30 s ago')
    expect(formatRelative(null, now)).toBe('never')
    expect(sinceOf('1h', now)).toBe('2026-03-02T11:00:00.000Z')
    expect(sinceOf('', now)).toBeUndefined()
  })
})

describe('message metadata', () => {
  it('finds tool calls in the shapes agents and Marcus report them', () => {
    expect(toolCallsOf({ tool_calls: ['analyze_code', { name: 'run_tests', arguments: { path: 'x' } }] }).map(c => c.name)).toEqual(['analyze_code', 'run_tests'])
    expect(toolCallsOf({ context: { tool_name: 'register_agent', arguments: { a: 1 }, response: { success: true } } })).toEqual([
      { name: 'register_agent', arguments: { a: 1 }, response: { success: true } },
    ])
    expect(toolCallsOf({})).toEqual([])
  })

  it('lists the response time and reported durations', () => {
    expect(timingsOf({ response_time_ms: 2000, metadata: { execution_time: 1.25 } })).toEqual([
      { label: 'response time', ms: 2000 }, { label: 'execution', ms: 1250 },
    ])
  })
})

describe('agent performance', () => {
  const tasks = [
    { name: 'a', status: 'done', started_at: '2026-03-01T10:00:00Z', completed_at: '2026-03-01T12:00:00Z', estimated_hours: 3 },
    { name: 'b', status: 'done', started_at: '2026-03-03T10:00:00Z', completed_at: '2026-03-03T10:30:00Z', estimated_hours: null },
    { name: 'c', status: 'in_progress', started_at: '2026-03-03T10:00:00Z', completed_at: null, estimated_hours: 1 },
  ]

  it('counts completions per day with empty days in between', () => {
    expect(completionsPerDay(tasks)).toEqual([
      { label: '2026-03-01', value: 1 }, { label: '2026-03-02', value: 0 }, { label: '2026-03-03', value: 1 },
    ])
  })

  it('sets actual hours against estimates of finished tasks', () => {
    expect(estimateVsActual(tasks)).toEqual([{ label: 'a', estimated: 3, actual: 2 }, { label: 'b', estimated: null, actual: 0.5 }])
  })
})

describe('activity feed lines', () => {
  it('describes stored and live events alike', () => {
    const stored = activityFromStored({ seq: 3, kind: 'blocker.reported', ts: '2026-03-02T12:00:00Z', project_id: 'shop', payload: { severity: 'high', description: 'sandbox down' } })
    expect(stored).toMatchObject({ seq: 3, tone: 'bad', text: 'blocker (high): sandbox down' })
    const live = activityFromLive({ event: 'agent_status_update', channel: 'agent_status', seq: 4, data: { agent_id: 'coder', project_id: 'shop', status: 'unavailable', previous_status: 'idle', reason: 'no heartbeat' } })
    expect(live).toMatchObject({ seq: 4, tone: 'bad', text: 'coder is unavailable (no heartbeat)' })
  })
})
