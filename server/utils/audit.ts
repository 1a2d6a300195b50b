/**
 * The audit log: every write, command, key change and denied access — who, what, which
 * project, the result and the request id. Readable by admins through GET /api/audit.
 */
import { getQuery, type H3Event } from 'h3'
import type { Principal } from './auth'
import { prepared, useDatabase } from './db'
import { accessFor, openRoutes } from './gateway'
import { iso } from './ids'

export type AuditEntry = {
  action: string
  result: 'success' | 'failed' | 'denied'
  projectId?: string | null
  target?: string | null
  details?: Record<string, unknown>
}

export function recordAudit(event: H3Event | undefined, entry: AuditEntry, principal?: Principal) {
  const who = principal ?? (event?.context.principal as Principal | undefined)
  prepared(useDatabase().sqlite, `INSERT INTO audit_log (ts, principal, action, project_id, target, result, request_id, details)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
    Date.now(), who?.id ?? null, entry.action, entry.projectId ?? null, entry.target ?? null, entry.result,
    (event?.context.requestId as string | undefined) ?? null, entry.details ? JSON.stringify(entry.details) : null,
  )
}

/**
 * Audits one finished API request: every write (whatever its result) and every denied
 * request (401, 403). Routes may name the action, project and target on `event.context.audit`.
 * Called once per request, from the response hook or the error handler.
 */
export function auditRequest(event: H3Event, status: number) {
  if (event.context.audited) return
  event.context.audited = true
  const path = event.path.split('?')[0]!
  if (!path.startsWith('/api') || openRoutes.some(r => r.test(path))) return
  const denied = status === 401 || status === 403
  const reading = event.method === 'GET' || event.method === 'HEAD' || accessFor(event.method, path) === 'read'
  if (!denied && reading) return
  const named = event.context.audit as { projectId?: string, target?: string, action?: string } | undefined
  const queried = getQuery(event).project_id
  try {
    recordAudit(event, {
      action: named?.action ?? `${event.method} ${path}`,
      result: denied ? 'denied' : status < 400 ? 'success' : 'failed',
      projectId: named?.projectId ?? (event.context.denied as { project_id?: string } | undefined)?.project_id ?? (typeof queried === 'string' ? queried : null),
      target: named?.target ?? null,
      details: { status, method: event.method, path },
    })
  }
  catch (error) {
    console.error('[seneca] audit write failed', error)
  }
}

export type AuditQuery = { limit: number, before_seq?: number, principal?: string, action?: string, project_id?: string, result?: string, since?: number, until?: number }

export function listAudit(q: AuditQuery) {
  const where: string[] = []
  const params: Record<string, unknown> = { limit: q.limit + 1 }
  const add = (sql: string, name: string, value: unknown) => {
    if (value === undefined) return
    where.push(sql)
    params[name] = value
  }
  add('seq < @before', 'before', q.before_seq)
  add('principal = @principal', 'principal', q.principal)
  add('action LIKE @action ESCAPE \'\\\'', 'action', q.action === undefined ? undefined : `${q.action.replace(/[\\%_]/g, c => `\\${c}`)}%`)
  add('project_id = @project', 'project', q.project_id)
  add('result = @result', 'result', q.result)
  add('ts >= @since', 'since', q.since)
  add('ts <= @until', 'until', q.until)
  const rows = useDatabase().sqlite.prepare(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY seq DESC LIMIT @limit`).all(params) as { seq: number, ts: number, principal: string | null, action: string, project_id: string | null, target: string | null, result: string, request_id: string | null, details: string | null }[]
  const hasMore = rows.length > q.limit
  if (hasMore) rows.length = q.limit
  return {
    entries: rows.map(r => ({
      seq: r.seq, timestamp: iso(r.ts), principal: r.principal, action: r.action, project_id: r.project_id, target: r.target,
      result: r.result, request_id: r.request_id, details: r.details ? JSON.parse(r.details) : {},
    })),
    has_more: hasMore,
    next_before_seq: hasMore ? rows.at(-1)!.seq : null,
  }
}
