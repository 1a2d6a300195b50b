/**
 * Agent commands (pause, resume, …) as facts: issuing one and every later status change go
 * through the ingest path as `command.issued` / `command.updated` events, so the log holds
 * the whole lifecycle, the projection keeps `agent_commands` and an acknowledged pause
 * changes the agent, and the realtime hub delivers the command to the agent's connection.
 * Used by the WebSocket's `agent_command` / `command_ack` and the REST command endpoint.
 */
import type { AgentCommand } from '../../shared/events'
import { type Principal, canUseProject } from './auth'
import { useDatabase } from './db'
import { apiError } from './errors'
import { newId } from './ids'
import { ingest } from './ingest'

/** Roles that may command agents or acknowledge commands (viewers only watch; ingest keys only write facts). */
const COMMANDING_ROLES = new Set<Principal['role']>(['admin', 'member'])

export type IssuedCommand = { command_id: string, agent_id: string, project_id: string, command: AgentCommand, status: 'pending', seq: number }
export type UpdatedCommand = { command_id: string, agent_id: string, status: string, seq: number | null }

export function assertMayCommand(principal: Principal) {
  if (!COMMANDING_ROLES.has(principal.role)) {
    throw apiError('FORBIDDEN', `The ${principal.role} role may not command agents; it needs admin or member`, { role: principal.role, required: [...COMMANDING_ROLES] })
  }
}

function agentProject(agentId: string): string | undefined {
  const row = useDatabase().sqlite.prepare('SELECT project_id FROM agents WHERE id = ?').get(agentId) as { project_id: string } | undefined
  return row?.project_id
}

/**
 * Records a command for an agent (`command.issued`, status `pending`). The agent must be known
 * and in one of the principal's projects (otherwise AGENT_NOT_FOUND, as if it did not exist).
 */
export function issueAgentCommand(principal: Principal, input: {
  agent_id: string
  command: AgentCommand
  reason?: string
  parameters?: Record<string, unknown>
  /** Epoch ms after which an unacknowledged command expires. */
  expires_at?: number
}): IssuedCommand {
  assertMayCommand(principal)
  const projectId = agentProject(input.agent_id)
  if (projectId === undefined || !canUseProject(principal, projectId)) {
    throw apiError('AGENT_NOT_FOUND', `Agent with ID '${input.agent_id}' does not exist`, { agent_id: input.agent_id })
  }
  const commandId = newId('cmd')
  // The reason travels in the parameters: the projection reads it when the agent acknowledges a pause.
  const parameters = { ...input.parameters, ...(input.reason === undefined ? {} : { reason: input.reason }) }
  const outcome = ingest([{
    kind: 'command.issued', id: commandId, command_id: commandId, project_id: projectId, agent_id: input.agent_id,
    command: input.command, parameters, issued_by: principal.id,
    ...(input.expires_at === undefined ? {} : { expires_at: input.expires_at }),
  }], 'api')
  const result = outcome.results[0]
  if (result?.status !== 'stored' || result.seq === undefined) {
    throw apiError('VALIDATION_FAILED', result?.error?.message ?? 'The command was not recorded', { result })
  }
  return { command_id: commandId, agent_id: input.agent_id, project_id: projectId, command: input.command, status: 'pending', seq: result.seq }
}

type CommandRow = { id: string, agent_id: string, project_id: string, status: string }

/**
 * Moves a command along its lifecycle (`delivered`, `acknowledged`, `failed`, `expired`).
 * A final status is never overwritten: the projection keeps the first one, and this answers
 * with the stored status. `principal` is omitted for the server's own updates (delivery).
 */
export function updateCommandStatus(commandId: string, status: 'delivered' | 'acknowledged' | 'failed' | 'expired', options: {
  principal?: Principal
  result?: Record<string, unknown>
} = {}): UpdatedCommand {
  const { principal } = options
  if (principal) assertMayCommand(principal)
  const sqlite = useDatabase().sqlite
  const row = sqlite.prepare('SELECT id, agent_id, project_id, status FROM agent_commands WHERE id = ?').get(commandId) as CommandRow | undefined
  if (!row || (principal && !canUseProject(principal, row.project_id))) {
    throw apiError('COMMAND_NOT_FOUND', `Command with ID '${commandId}' does not exist`, { command_id: commandId })
  }
  if (['acknowledged', 'failed', 'expired'].includes(row.status)) {
    return { command_id: commandId, agent_id: row.agent_id, status: row.status, seq: null }
  }
  const outcome = ingest([{
    kind: 'command.updated', command_id: commandId, project_id: row.project_id, status,
    ...(options.result === undefined ? {} : { result: options.result }),
  }], 'api')
  const result = outcome.results[0]
  if (result?.status !== 'stored') {
    throw apiError('VALIDATION_FAILED', result?.error?.message ?? 'The command update was not recorded', { result })
  }
  return { command_id: commandId, agent_id: row.agent_id, status, seq: result.seq ?? null }
}
