import { agentIdParams, commandListQuery } from '../../../../shared/agents'

/**
 * GET /api/agents/{id}/commands: the agent's commands. An agent polling for
 * `status=pending` receives them, and they become `delivered`.
 */
export default defineEventHandler((event) => {
  const { id } = validParams(event, agentIdParams)
  const { status } = validQuery(event, commandListQuery)
  const scope = scopeFor(event)
  const commands = listAgentCommands(id, status, scope)
  // Polling by the agent (or an operator acting for it) delivers; a viewer only looks.
  if (status === 'pending' && principalOf(event).role !== 'viewer') {
    for (const c of commands) updateCommandStatus(c.command_id, 'delivered')
    for (const c of commands) c.status = 'delivered'
  }
  return { agent_id: id, commands }
})
