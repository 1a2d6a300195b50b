/**
 * Who talks to whom: messages grouped by sender and recipient within a scope, for the
 * conversation viewer's graph (and any external tool). One grouped scan of the messages
 * the filters select; the time window is the caller's lever on cost.
 */
import type { CommunicationGraph, CommunicationGraphQuery } from '../../shared/dashboards'
import { type Scope, scopeSql } from './access'
import { useDatabase } from './db'

type Row = { source: string, target: string, messages: number, errors: number, avg_rt: number | null }

/** Messages without a recipient went to everyone in the conversation. */
export const BROADCAST = '*'

export function communicationGraph(query: CommunicationGraphQuery, scope: Scope = null): CommunicationGraph {
  const params: Record<string, unknown> = {}
  const where = scopeSql('project_id', scope, params)
  if (query.project_id !== undefined) {
    where.push('project_id = @project_id')
    params.project_id = query.project_id
  }
  if (query.conversation_id !== undefined) {
    where.push('conversation_id = @conversation_id')
    params.conversation_id = query.conversation_id
  }
  if (query.agent_id !== undefined) {
    where.push('(sender = @agent_id OR recipient = @agent_id)')
    params.agent_id = query.agent_id
  }
  if (query.since !== undefined) {
    where.push('ts >= @since')
    params.since = query.since
  }
  if (query.until !== undefined) {
    where.push('ts <= @until')
    params.until = query.until
  }
  const rows = useDatabase().sqlite.prepare(`
    SELECT sender AS source, coalesce(recipient, '${BROADCAST}') AS target, count(*) AS messages,
           sum(message_type = 'error') AS errors, avg(response_time_ms) AS avg_rt
    FROM messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    GROUP BY sender, recipient
    ORDER BY messages DESC, source, target`).all(params) as Row[]

  const kept = rows.slice(0, query.limit)
  const nodes = new Map<string, { id: string, sent: number, received: number, errors: number }>()
  const node = (id: string) => {
    let n = nodes.get(id)
    if (!n) nodes.set(id, n = { id, sent: 0, received: 0, errors: 0 })
    return n
  }
  let total = 0
  for (const r of rows) total += r.messages
  for (const r of kept) {
    node(r.source).sent += r.messages
    node(r.source).errors += r.errors
    node(r.target).received += r.messages
  }
  return {
    nodes: [...nodes.values()],
    edges: kept.map(r => ({
      source: r.source, target: r.target, messages: r.messages, errors: r.errors,
      avg_response_time_ms: r.avg_rt === null ? null : Math.round(r.avg_rt),
    })),
    total_messages: total,
    omitted_messages: total - kept.reduce((s, r) => s + r.messages, 0),
  }
}
