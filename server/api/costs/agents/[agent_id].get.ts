import { costAgentDetailQuery, costAgentParams } from '../../../../shared/costs'
import { costAgent } from '../../../utils/costs'
import { budgetsForAgent } from '../../../utils/costs-budgets'

/** GET /api/costs/agents/{agent_id}: one agent's spend by model, project and task, its days, and the budgets that concern it. */
export default defineEventHandler((event) => {
  const { agent_id: agentId } = validParams(event, costAgentParams)
  const query = validQuery(event, costAgentDetailQuery)
  const answer = costAgent(agentId, query, scopeFor(event, query.project_id))
  const projects = query.project_id === undefined ? answer.projects : [query.project_id]
  return { ...answer, budgets: budgetsForAgent(agentId, projects, Date.parse(answer.window.as_of), query.burn_window_hours) }
})
