/**
 * Marcus's legacy pipeline log, `logs/pipeline_events.json` (written before 2025-07-12 by
 * its SharedPipelineEvents): one document `{"flows": {id: flow}, "events": [...]}`, where a
 * flow is `{id, project_name?, project_id?, started_at, completed_at?, status}` and an event
 * `{id?, flow_id, timestamp, stage, event_type, data?, duration_ms?, status?}`.
 *
 * Each flow becomes a pipeline of its own (its stages in the order they first appear, each
 * depending on the one before) with one run: the flow. Stage events become stage updates,
 * the flow's final status the run's end. Imported runs are observed, never driven: the
 * reactor starts no tasks for them (trigger `marcus-legacy`). Event ids derive from the
 * file's content, so reading it again (its mtime changed) stores only what is new. Records
 * of unknown shape are counted and kept as generic events.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { RawEvent } from '../../shared/events'
import { ingest } from '../utils/ingest'
import { LEGACY_PIPELINE_TRIGGER } from '../utils/pipelines'

export type LegacyPipelineStats = { flows: number, events: number, unknown: number, malformed: number, stored: number, last_error: string | null }

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined)
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16)

/** Python's `datetime.now().isoformat()` has no offset: read as UTC. */
function time(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e12 ? Math.round(v * 1000) : v
  const s = str(v)
  if (!s) return undefined
  const withZone = /[zZ]|[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s}Z`
  const ms = Date.parse(withZone.replace(/(\.\d{3})\d+/, '$1'))
  return Number.isNaN(ms) ? undefined : ms
}

function stageStatus(e: Obj): 'running' | 'completed' | 'failed' {
  const status = str(e.status)?.toLowerCase() ?? ''
  const type = str(e.event_type)?.toLowerCase() ?? ''
  if (status === 'failed' || status === 'error' || /fail|error/.test(type)) return 'failed'
  if (status === 'completed' || status === 'success' || /complete|finished|done/.test(type)) return 'completed'
  return 'running'
}

/** Maps the document to events; `projectId` for flows that name none. */
export function mapLegacyPipelines(doc: unknown, projectId: string): { events: RawEvent[], stats: Omit<LegacyPipelineStats, 'stored' | 'last_error'> } {
  const stats = { flows: 0, events: 0, unknown: 0, malformed: 0 }
  const out: RawEvent[] = []
  if (!isObj(doc)) {
    stats.unknown++
    out.push({ kind: 'generic', id: `marcus-pipe:doc:${hash(JSON.stringify(doc) ?? 'undefined')}`, project_id: projectId, type: 'marcus_pipeline_document', data: doc ?? null })
    return { events: out, stats }
  }
  const flows = isObj(doc.flows) ? doc.flows : {}
  const records = Array.isArray(doc.events) ? doc.events : []
  const byFlow = new Map<string, Obj[]>()
  records.forEach((r, i) => {
    const flowId = isObj(r) ? str(r.flow_id) : undefined
    if (!isObj(r) || !flowId || !str(r.stage)) {
      stats.unknown++
      out.push({ kind: 'generic', id: `marcus-pipe:event:${i}:${hash(JSON.stringify(r) ?? 'null')}`, project_id: projectId, type: 'marcus_pipeline_event', data: r ?? null })
      return
    }
    stats.events++
    byFlow.set(flowId, [...(byFlow.get(flowId) ?? []), { ...r, _index: i }])
  })
  const flowIds = new Set([...Object.keys(flows), ...byFlow.keys()])
  for (const flowId of flowIds) {
    const flow = isObj(flows[flowId]) ? flows[flowId] as Obj : {}
    const events = (byFlow.get(flowId) ?? []).sort((a, b) => (time(a.timestamp) ?? 0) - (time(b.timestamp) ?? 0))
    const stages = [...new Set(events.map(e => String(e.stage)))]
    if (!stages.length) {
      stats.unknown++
      out.push({ kind: 'generic', id: `marcus-pipe:flow:${flowId}:${hash(JSON.stringify(flow))}`, project_id: projectId, type: 'marcus_pipeline_flow', data: flow })
      continue
    }
    stats.flows++
    const project = str(flow.project_id) ?? projectId
    const pipelineId = `marcus-flow-${flowId}`.slice(0, 256)
    const runId = `marcus-run-${flowId}`.slice(0, 256)
    const started = time(flow.started_at) ?? time(events[0]?.timestamp) ?? 0
    const base = { project_id: project, pipeline_id: pipelineId, run_id: runId }
    const definition = stages.map((s, i) => ({ id: s.replace(/[^\w.-]/g, '_').slice(0, 64), name: s.replace(/_/g, ' '), agent_id: 'marcus', ...(i ? { depends_on: [stages[i - 1]!.replace(/[^\w.-]/g, '_').slice(0, 64)] } : {}) }))
    const stageId = (s: string) => definition[stages.indexOf(s)]!.id
    out.push(
      { kind: 'pipeline.defined', id: `marcus-pipe:${flowId}:defined:${hash(JSON.stringify(definition))}`, project_id: project, ts: started, pipeline_id: pipelineId,
        name: `Marcus: ${str(flow.project_name) ?? flowId}`.slice(0, 1024), description: 'Imported from Marcus\'s legacy logs/pipeline_events.json', stages: definition },
      { ...base, kind: 'pipeline.run.started', id: `marcus-pipe:${flowId}:started`, ts: started, trigger: LEGACY_PIPELINE_TRIGGER, parameters: { flow_id: flowId } },
    )
    const last = new Map<string, string>()
    for (const e of events) {
      const status = stageStatus(e)
      const ts = time(e.timestamp) ?? started
      const data = isObj(e.data) ? e.data : {}
      // Marcus moved on to a later stage: the earlier ones it left running had completed.
      for (const earlier of stages.slice(0, stages.indexOf(String(e.stage)))) {
        if (last.get(earlier) !== 'running') continue
        last.set(earlier, 'completed')
        out.push({ ...base, kind: 'pipeline.stage.updated', id: `marcus-pipe:${flowId}:${stageId(earlier)}:implied`, ts, stage_id: stageId(earlier), status: 'completed' })
      }
      last.set(String(e.stage), status)
      out.push({
        ...base, kind: 'pipeline.stage.updated', id: `marcus-pipe:${flowId}:${str(e.id) ?? `${e._index}:${hash(JSON.stringify(e))}`}`, ts, stage_id: stageId(String(e.stage)), status,
        ...(status === 'failed' ? { error: String(data.error ?? e.event_type ?? 'failed').slice(0, 10_000) } : {}),
      })
    }
    const final = str(flow.status)?.toLowerCase()
    if (final === 'completed' || final === 'failed') {
      out.push({ ...base, kind: 'pipeline.run.finished', id: `marcus-pipe:${flowId}:finished:${final}`, ts: time(flow.completed_at) ?? time(events.at(-1)?.timestamp) ?? started, status: final })
    }
  }
  return { events: out, stats }
}

/** Reads the file when its mtime changes; ids make a re-read a no-op for what was stored. */
export class LegacyPipelineImporter {
  private mtime = -1
  private timer: ReturnType<typeof setInterval> | undefined
  readonly stats: LegacyPipelineStats = { flows: 0, events: 0, unknown: 0, malformed: 0, stored: 0, last_error: null }

  constructor(private readonly logsRoot: string, private readonly project: () => string) {}

  get path() {
    return join(this.logsRoot, 'pipeline_events.json')
  }

  check() {
    try {
      if (!existsSync(this.path)) return
      const mtime = statSync(this.path).mtimeMs
      if (mtime === this.mtime) return
      this.mtime = mtime
      let doc: unknown
      try {
        doc = JSON.parse(readFileSync(this.path, 'utf8'))
      }
      catch (error) {
        // Mid-write or damaged: counted, read again when it changes.
        this.stats.malformed++
        this.stats.last_error = (error as Error).message
        return
      }
      const { events, stats } = mapLegacyPipelines(doc, this.project())
      Object.assign(this.stats, stats)
      this.stats.stored += ingest(events, 'marcus-log').stored
    }
    catch (error) {
      this.stats.last_error = (error as Error).message
    }
  }

  start(intervalMs: number) {
    this.check()
    this.timer = setInterval(() => this.check(), intervalMs)
    this.timer.unref()
  }

  stop() {
    clearInterval(this.timer)
  }
}
