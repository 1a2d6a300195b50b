/**
 * ECharts option builders of the project, cost and insight pages: pure functions from API
 * data (and the theme's colours) to an option, unit-tested in tests/unit/dashboard-reports.test.ts.
 * Rendered by components/charts/ChartsView.vue (bar, line and graph series).
 */
import { type ChartOption, type ChartPalette, fallbackPalette } from './charts'
import type { Burndown } from './burndown'

/** Series colours after the theme's own, for breakdowns with many keys. */
const extra = ['#8e5cd9', '#0f9b8e', '#d9730d', '#c2417a', '#5b8c00', '#6b7280', '#2b9fd9', '#b58900']

export function seriesColours(p: ChartPalette): string[] {
  return [p.accent, p.ok, p.warn, p.bad, ...extra]
}

function axis(p: ChartPalette) {
  return {
    axisLabel: { color: p.muted },
    axisLine: { lineStyle: { color: p.border } },
    splitLine: { lineStyle: { color: p.border } },
  }
}

function label(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString()
  // Within two days the hour matters; beyond, the day does.
  return spanMs <= 2 * 86_400_000 ? iso.slice(5, 16).replace('T', ' ') : iso.slice(0, 10)
}

/** Open tasks (and the estimated hours they hold) over time, with the ideal line to zero by `dueAt` when the project has one. */
export function burndownOption(b: Burndown, p: ChartPalette = fallbackPalette, dueAt?: number | null): ChartOption {
  const span = b.end - b.start
  const labels = b.points.map(x => label(x.at, span))
  const peak = Math.max(...b.points.map(x => x.open))
  const series: ChartOption['series'] = [
    { type: 'line', name: 'open tasks', data: b.points.map(x => x.open), step: 'end', symbol: 'none', itemStyle: { color: p.accent }, areaStyle: { opacity: 0.12 } },
    { type: 'line', name: 'estimated hours left', yAxisIndex: 1, data: b.points.map(x => x.hours), symbol: 'none', itemStyle: { color: p.warn }, lineStyle: { type: 'dashed' } },
  ]
  if (dueAt && dueAt > b.start) {
    // Straight from the peak at the start to zero at the due date, clipped to the chart's window.
    const ideal = b.points.map(x => Math.max(0, Math.round(peak * (1 - (x.at - b.start) / (dueAt - b.start)) * 10) / 10))
    ;(series as unknown[]).push({ type: 'line', name: 'ideal', data: ideal, symbol: 'none', itemStyle: { color: p.muted }, lineStyle: { type: 'dotted' } })
  }
  return {
    tooltip: { trigger: 'axis' },
    legend: { textStyle: { color: p.text }, top: 0 },
    grid: { left: 44, right: 52, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: labels, boundaryGap: false, ...axis(p), splitLine: { show: false } },
    yAxis: [
      { type: 'value', name: 'tasks', minInterval: 1, nameTextStyle: { color: p.muted }, ...axis(p) },
      { type: 'value', name: 'hours', nameTextStyle: { color: p.muted }, ...axis(p), splitLine: { show: false } },
    ],
    series,
  } as ChartOption
}

type CostPoint = { start: string, cost: number }
type CostSeries = { key: string | null, cost: number, points: CostPoint[] }

/** Spend per bucket: one stacked bar series per group (project, agent or model), or the total. */
export function costOverTimeOption(points: CostPoint[], series: CostSeries[] | undefined, p: ChartPalette = fallbackPalette): ChartOption {
  const starts = points.map(x => Date.parse(x.start))
  // Hourly buckets are labelled with their hour, longer ones with their day.
  const step = starts.length > 1 ? starts[1]! - starts[0]! : 86_400_000
  const labels = starts.map(s => label(s, step < 86_400_000 ? 0 : Infinity))
  const colours = seriesColours(p)
  const money = (v: number) => Math.round(v * 10_000) / 10_000
  const stacked = series?.length
    ? series.map((s, i) => ({
        type: 'bar' as const, name: s.key ?? '(none)', stack: 'cost',
        data: points.map(pt => money(s.points.find(x => x.start === pt.start)?.cost ?? 0)),
        itemStyle: { color: colours[i % colours.length] },
      }))
    : [{ type: 'bar' as const, name: 'spend', data: points.map(x => money(x.cost)), itemStyle: { color: p.accent } }]
  return {
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => `$${Number(v).toFixed(4)}` },
    legend: { textStyle: { color: p.text }, top: 0, type: 'scroll' },
    grid: { left: 56, right: 12, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: labels, ...axis(p), splitLine: { show: false } },
    yAxis: { type: 'value', name: 'USD', nameTextStyle: { color: p.muted }, ...axis(p) },
    series: stacked,
  } as ChartOption
}

type Week = { week_start: string, success_rate: number | null, accuracy: number | null, cumulative_success_rate: number | null, cumulative_accuracy: number | null, finished: number }

/** Weekly success rate and estimation accuracy (0..1 shown as %), with the tasks finished each week as bars. */
export function learningCurveOption(weeks: Week[], p: ChartPalette = fallbackPalette): ChartOption {
  const pct = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 10)
  return {
    tooltip: { trigger: 'axis' },
    legend: { textStyle: { color: p.text }, top: 0 },
    grid: { left: 44, right: 44, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: weeks.map(w => w.week_start.slice(0, 10)), ...axis(p), splitLine: { show: false } },
    yAxis: [
      { type: 'value', name: '%', min: 0, max: 100, nameTextStyle: { color: p.muted }, ...axis(p) },
      { type: 'value', name: 'tasks', minInterval: 1, nameTextStyle: { color: p.muted }, ...axis(p), splitLine: { show: false } },
    ],
    series: [
      { type: 'bar', name: 'finished', yAxisIndex: 1, data: weeks.map(w => w.finished), itemStyle: { color: p.border } },
      { type: 'line', name: 'success rate', data: weeks.map(w => pct(w.success_rate)), connectNulls: true, itemStyle: { color: p.ok } },
      { type: 'line', name: 'estimate accuracy', data: weeks.map(w => pct(w.accuracy)), connectNulls: true, itemStyle: { color: p.accent } },
      { type: 'line', name: 'cumulative success', data: weeks.map(w => pct(w.cumulative_success_rate)), connectNulls: true, symbol: 'none', lineStyle: { type: 'dashed' }, itemStyle: { color: p.ok } },
    ],
  } as ChartOption
}

type KnowledgeNode = { id: string, type: string, label: string }
type KnowledgeEdge = { source: string, target: string, type: string }

/** The knowledge graph as a force layout: one category (colour, legend entry) per node type. */
export function knowledgeGraphOption(graph: { nodes: KnowledgeNode[], edges: KnowledgeEdge[] }, p: ChartPalette = fallbackPalette): ChartOption {
  const types = [...new Set(graph.nodes.map(n => n.type))]
  const colours = seriesColours(p)
  const degree = new Map<string, number>()
  for (const e of graph.edges) {
    degree.set(e.source, (degree.get(e.source) ?? 0) + 1)
    degree.set(e.target, (degree.get(e.target) ?? 0) + 1)
  }
  return {
    tooltip: { trigger: 'item', confine: true },
    legend: { data: types, textStyle: { color: p.text }, top: 0 },
    series: [{
      type: 'graph',
      layout: 'force',
      top: 36,
      roam: true,
      draggable: true,
      force: { repulsion: 220, edgeLength: [50, 140], gravity: 0.06 },
      categories: types.map((t, i) => ({ name: t, itemStyle: { color: colours[i % colours.length] } })),
      // Beyond a few dozen nodes labels overlap: they show on hover instead.
      label: { show: graph.nodes.length <= 30, position: 'right', color: p.text, fontSize: 11 },
      lineStyle: { color: p.border, opacity: 0.8 },
      emphasis: { focus: 'adjacency', label: { show: true } },
      data: graph.nodes.map(n => ({
        id: n.id, name: n.label.length > 40 ? `${n.label.slice(0, 39)}…` : n.label, category: types.indexOf(n.type),
        symbolSize: 8 + Math.min(22, 3 * Math.sqrt(degree.get(n.id) ?? 0)),
      })),
      links: graph.edges.map(e => ({ source: e.source, target: e.target })),
    }],
  } as ChartOption
}
