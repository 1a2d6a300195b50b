import { agentIdParams, commandBody } from '../../../../shared/agents'
import { forwardCommandToMarcus } from '../../../marcus/mcp'

/** POST /api/agents/{id}/commands: a command for the agent, `pending` until it acknowledges. */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const { id } = validParams(event, agentIdParams)
  const body = validated(commandBody, await readJsonBody(event, 64 * 1024), 'body')
  const reason = typeof body.parameters?.reason === 'string' ? body.parameters.reason : undefined
  const issued = issueAgentCommand(principal, {
    agent_id: id, command: body.command, parameters: body.parameters, reason,
    expires_at: Date.now() + (body.ttl_seconds ? body.ttl_seconds * 1000 : useConfig().commandTtlMs),
  })
  forwardCommandToMarcus({ ...issued, parameters: body.parameters }) // Marcus-managed agents: through Marcus, not awaited
  event.context.audit = { action: `agent.command.${body.command}`, projectId: issued.project_id, target: id }
  setResponseStatus(event, 202)
  return issued
})
