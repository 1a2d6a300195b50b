import { agentAnalyticsQuery } from '../../../shared/agents'

/** GET /api/agents/analytics: overview, performance and efficiency across agents. */
export default defineEventHandler((event) => {
  const { project_id } = validQuery(event, agentAnalyticsQuery)
  return agentAnalytics(analyticsProject(event, project_id), scopeFor(event))
})
