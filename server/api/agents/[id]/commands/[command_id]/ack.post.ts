import { agentCommandParams, commandAckBody } from '../../../../../../shared/agents'

/** POST /api/agents/{id}/commands/{command_id}/ack: the agent acknowledges (or fails) a command. */
export default defineEventHandler(async (event) => {
  const { id, command_id } = validParams(event, agentCommandParams)
  const body = validated(commandAckBody, await readJsonBody(event, 64 * 1024), 'body')
  const commands = listAgentCommands(id, undefined, scopeFor(event))
  if (!commands.some(c => c.command_id === command_id)) {
    throw apiError('COMMAND_NOT_FOUND', `Command with ID '${command_id}' does not exist for agent '${id}'`, { command_id, agent_id: id })
  }
  event.context.audit = { action: `agent.command.${body.status}`, target: command_id }
  return updateCommandStatus(command_id, body.status, { result: body.result })
})
