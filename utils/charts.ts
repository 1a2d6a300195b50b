/**
 * ECharts option builders: pure functions from API data (and the theme's colours) to an
 * option, unit-tested in tests/unit/dashboard-charts.test.ts. Chart components only render
 * what these return (components/charts/ChartsView.vue).
 */
import type { ComposeOption } from 'echarts/core'
import type { BarSeriesOption, GraphSeriesOption, LineSeriesOption } from 'echarts/charts'
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components'
import type { CommunicationGraph } from '~~/shared/dashboards'

export type ChartOption = ComposeOption<GraphSeriesOption | LineSeriesOption | BarSeriesOption | TooltipComponentOption | GridComponentOption | LegendComponentOption>

/** The theme's colours, read from the CSS variables where the chart is drawn. */
export type ChartPalette = { text: string, muted: string, border: string, accent: string, ok: string, warn: string, bad: string }

export const fallbackPalette: ChartPalette = { text: '#1b1f27', muted: '#5b6472', border: '#d7dbe2', accent: '#2f5fd0', ok: '#1d7a46', warn: '#9a6200', bad: '#b3261e' }

/** Share of errors at which an edge is drawn in the warning / the error colour. */
const WARN_RATIO = 0.01
const BAD_RATIO = 0.1

export function edgeColour(messages: number, errors: number, p: ChartPalette): string {
  if (!errors || !messages) return p.muted
  const ratio = errors / messages
  return ratio >= BAD_RATIO ? p.bad : ratio >= WARN_RATIO ? p.warn : p.muted
}

/** Who talks to whom: node size by messages sent and received, edge width by volume (log scale), colour by error share. */
export function communicationGraphOption(graph: CommunicationGraph, p: ChartPalette = fallbackPalette): ChartOption {
  const maxEdge = Math.max(1, ...graph.edges.map(e => e.messages))
  const maxNode = Math.max(1, ...graph.nodes.map(n => n.sent + n.received))
  const width = (n: number) => 1 + 7 * Math.log1p(n) / Math.log1p(maxEdge)
  return {
    tooltip: { trigger: 'item', confine: true },
    series: [{
      type: 'graph',
      layout: 'circular',
      circular: { rotateLabel: false },
      roam: true,
      label: { show: true, position: 'right', color: p.text, fontSize: 12 },
      edgeSymbol: ['none', 'arrow'],
      edgeSymbolSize: 8,
      lineStyle: { curveness: 0.2, opacity: 0.85 },
      emphasis: { focus: 'adjacency', lineStyle: { width: 6 } },
      data: graph.nodes.map(n => ({
        id: n.id,
        name: n.id,
        value: n.sent + n.received,
        symbolSize: 12 + 28 * Math.sqrt((n.sent + n.received) / maxNode),
        itemStyle: { color: n.errors ? p.bad : p.accent },
        tooltip: { formatter: `${escapeHtml(n.id)}<br>sent ${n.sent}, received ${n.received}${n.errors ? `<br>${n.errors} errors` : ''}` },
      })),
      links: graph.edges.map(e => ({
        source: e.source,
        target: e.target,
        value: e.messages,
        lineStyle: { width: width(e.messages), color: edgeColour(e.messages, e.errors, p) },
        tooltip: { formatter: `${escapeHtml(e.source)} → ${escapeHtml(e.target)}<br>${e.messages} messages${e.errors ? `, ${e.errors} errors` : ''}`
          + `${e.avg_response_time_ms === null ? '' : `<br>mean response ${e.avg_response_time_ms} ms`}` },
      })),
    }],
  }
}

/** A bar per time bucket (e.g. tasks completed per day). */
export function barsOverTimeOption(points: { label: string, value: number }[], name: string, p: ChartPalette = fallbackPalette): ChartOption {
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 40, right: 12, top: 16, bottom: 28 },
    xAxis: { type: 'category', data: points.map(x => x.label), axisLabel: { color: p.muted }, axisLine: { lineStyle: { color: p.border } } },
    yAxis: { type: 'value', minInterval: 1, axisLabel: { color: p.muted }, splitLine: { lineStyle: { color: p.border } } },
    series: [{ type: 'bar', name, data: points.map(x => x.value), barMaxWidth: 48, itemStyle: { color: p.accent } }],
  } as ChartOption
}

/** Estimated against actual hours per finished task, in completion order. */
export function estimateVsActualOption(points: { label: string, estimated: number | null, actual: number }[], p: ChartPalette = fallbackPalette): ChartOption {
  return {
    tooltip: { trigger: 'axis' },
    legend: { textStyle: { color: p.text }, top: 0 },
    grid: { left: 44, right: 12, top: 28, bottom: 28 },
    xAxis: { type: 'category', data: points.map(x => x.label), axisLabel: { show: false }, axisLine: { lineStyle: { color: p.border } } },
    yAxis: { type: 'value', name: 'hours', nameTextStyle: { color: p.muted }, axisLabel: { color: p.muted }, splitLine: { lineStyle: { color: p.border } } },
    series: [
      { type: 'bar', name: 'actual', data: points.map(x => Math.round(x.actual * 100) / 100), barMaxWidth: 48, itemStyle: { color: p.accent } },
      { type: 'line', name: 'estimated', data: points.map(x => x.estimated), itemStyle: { color: p.warn }, symbolSize: 6 },
    ],
  } as ChartOption
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' }[c]!))
}
