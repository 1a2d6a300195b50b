/** The API registry's entries for the Memory, patterns and context routes (see openapi.ts for how an entry reads). */
import {
  agentHistoryResponse, agentProfileResponse, blockerInsightsQuery, blockerInsightsResponse, cascadeQuery, completionPredictionResponse, completionQuery,
  contextGraphQuery, contextGraphResponse, crossProjectQuery, crossProjectResponse, impactQuery, impactResponse, insightAgentParams, insightProjectParams,
  insightTaskParams, knowledgeGraphQuery, knowledgeGraphResponse, learningCurveQuery, learningCurveResponse, memoryAgentsQuery, memoryAgentsResponse,
  memoryHistoryQuery, patternListResponse, patternQuery, recommendationsResponse, taskContextResponse, taskPredictionResponse,
} from '../../shared/insights'
import { type ApiRoute, json } from './openapi-spec'

export const insightRoutes: ApiRoute[] = [
  // Memory
  {
    method: 'get', path: '/api/memory/agents', operationId: 'listAgentMemory', tag: 'Memory', summary: 'What each agent has done',
    description: 'Per agent: tasks held, succeeded, failed, blocked, handed off, open, and estimation accuracy (estimated vs actual hours), from the insight rollups.',
    query: memoryAgentsQuery,
    responses: { 200: json('One summary per agent', memoryAgentsResponse) },
  },
  {
    method: 'get', path: '/api/memory/agents/{id}', operationId: 'getAgentMemory', tag: 'Memory', summary: 'An agent\'s profile',
    description: 'Counts, estimation accuracy, success rates per label key and per capability, common blockers and the trend of its recent work.',
    params: insightAgentParams, query: memoryAgentsQuery,
    responses: { 200: json('The profile', agentProfileResponse) },
    errors: ['AGENT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/memory/agents/{id}/history', operationId: 'getAgentMemoryHistory', tag: 'Memory', summary: 'An agent\'s task history',
    description: 'Assignments, progress, blockers and hand-offs of the tasks the agent held, newest first; page with `cursor` = the previous `next_cursor`.',
    params: insightAgentParams, query: memoryHistoryQuery,
    responses: { 200: json('A page of history', agentHistoryResponse) },
    errors: ['AGENT_NOT_FOUND', 'INVALID_CURSOR'],
  },
  {
    method: 'get', path: '/api/memory/agents/{id}/learning-curve', operationId: 'getAgentLearningCurve', tag: 'Memory', summary: 'An agent\'s weekly learning curve',
    description: 'Per ISO week: tasks finished, success rate, estimation accuracy, cumulative figures and the slope per week.',
    params: insightAgentParams, query: learningCurveQuery,
    responses: { 200: json('The curve', learningCurveResponse) },
    errors: ['AGENT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/memory/blockers', operationId: 'getBlockerInsights', tag: 'Memory', summary: 'Blocker insights',
    description: 'Blockers grouped by normalised description: occurrences, the delay they caused, the agents and tasks they hit.',
    query: blockerInsightsQuery,
    responses: { 200: json('The groups, most frequent first', blockerInsightsResponse) },
  },
  {
    method: 'get', path: '/api/memory/knowledge-graph', operationId: 'getKnowledgeGraph', tag: 'Memory', summary: 'The knowledge graph',
    description: 'Projects, agents, tasks, decisions and artifacts as nodes and their relations as edges, for the dashboard to draw; filter by project, agent and node types.',
    query: knowledgeGraphQuery,
    responses: { 200: json('Nodes and edges', knowledgeGraphResponse) },
    errors: ['AGENT_NOT_FOUND'],
  },

  // Patterns and predictions
  {
    method: 'get', path: '/api/patterns', operationId: 'listPatterns', tag: 'Patterns', summary: 'Detected patterns',
    description: 'Recurring blockers, durations by label, best agents per label, peak hours, stalls and loops, each with its evidence, method and confidence.',
    query: patternQuery,
    responses: { 200: json('The patterns', patternListResponse) },
  },
  {
    method: 'get', path: '/api/patterns/recommendations', operationId: 'listRecommendations', tag: 'Patterns', summary: 'Recommendations',
    description: 'What to do, derived from the detected patterns; each names the patterns it comes from.',
    query: patternQuery,
    responses: { 200: json('The recommendations, most urgent first', recommendationsResponse) },
  },
  {
    method: 'get', path: '/api/patterns/predictions/projects/{project_id}/completion', operationId: 'predictProjectCompletion', tag: 'Patterns', summary: 'When a project will be done',
    description: 'From measured velocity (tasks completed per hour) with an 80% interval, and its inputs.',
    params: insightProjectParams, query: completionQuery,
    responses: { 200: json('The forecast', completionPredictionResponse) },
    errors: ['PROJECT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/patterns/predictions/tasks/{id}', operationId: 'predictTaskOutcome', tag: 'Patterns', summary: 'A task\'s likely outcome',
    description: 'Success and blockage probability and expected hours from similar past tasks (same label keys), overall and for the assigned agent.',
    params: insightTaskParams,
    responses: { 200: json('The prediction', taskPredictionResponse) },
    errors: ['TASK_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/patterns/predictions/cascade', operationId: 'predictCascade', tag: 'Patterns', summary: 'Cascade effects of a delay',
    description: 'Which tasks and agents a delay of `delay_hours` on a task reaches, by how much, and whether the critical path moves.',
    query: cascadeQuery,
    responses: { 200: json('The cascade', impactResponse) },
    errors: ['TASK_NOT_FOUND'],
  },

  // Context
  {
    method: 'get', path: '/api/context/projects/{project_id}/graph', operationId: 'getContextGraph', tag: 'Context', summary: 'A project\'s task dependency graph with context',
    description: 'Tasks with schedule figures (remaining, earliest start/finish, slack, critical path) and their decisions, artifacts, dependencies and dependents.',
    params: insightProjectParams, query: contextGraphQuery,
    responses: { 200: json('The graph', contextGraphResponse) },
    errors: ['PROJECT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/context/tasks/{id}', operationId: 'getTaskContext', tag: 'Context', summary: 'A task\'s context',
    params: insightTaskParams,
    responses: { 200: json('The task and everything around it', taskContextResponse) },
    errors: ['TASK_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/context/tasks/{id}/impact', operationId: 'getTaskImpact', tag: 'Context', summary: 'Impact of a delay or failure of a task',
    description: 'Affected tasks and agents with their delay, the project delay, and the critical path before and after.',
    params: insightTaskParams, query: impactQuery,
    responses: { 200: json('The impact', impactResponse) },
    errors: ['TASK_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/context/cross-project', operationId: 'getCrossProjectContext', tag: 'Context', summary: 'What projects share',
    description: 'Agents that worked in several projects and artifacts found in several, with the links between projects.',
    query: crossProjectQuery,
    responses: { 200: json('Shared agents and artifacts', crossProjectResponse) },
    errors: ['PROJECT_NOT_FOUND'],
  },
]
