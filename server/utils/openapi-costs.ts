/** The API registry's entries for the Costs routes (see openapi.ts for how an entry reads). */
import {
  budgetBody, budgetDeletedResponse, budgetDetailQuery, budgetIdParams, budgetListQuery, budgetListResponse, budgetSchema, budgetUpdateBody,
  costAgentDetailQuery, costAgentListResponse, costAgentParams, costAgentResponse, costDetailQuery, costEventListQuery, costEventListResponse,
  costListQuery, costProjectListResponse, costProjectParams, costProjectResponse, costSummaryQuery, costSummaryResponse, costTimeseriesQuery,
  costTimeseriesResponse, priceBody, priceChangedResponse, priceDeletedResponse, priceIdParams, priceListQuery, priceListResponse,
  priceResolveQuery, priceResolveResponse, priceUpdateBody,
} from '../../shared/costs'
import { type ApiRoute, json } from './openapi-spec'

const windowNote = 'The window is the current `period` (UTC) or `since`/`until`, applied at hour granularity from the rollups; `as_of` moves "now".'

export const costRoutes: ApiRoute[] = [
  {
    method: 'get', path: '/api/costs/summary', operationId: 'getCostSummary', tag: 'Costs', summary: 'Spend totals, breakdowns, burn rate and projection',
    description: `Totals and the costliest projects, agents, tasks and models, within the caller's projects. ${windowNote} Burn rate: cost over the last \`burn_window_hours\` hourly buckets / their number; projection: spent + burn × hours to the period's end.`,
    query: costSummaryQuery,
    responses: { 200: json('The figures', costSummaryResponse) },
  },
  {
    method: 'get', path: '/api/costs/projects', operationId: 'listProjectCosts', tag: 'Costs', summary: 'Spend per project',
    description: windowNote,
    query: costListQuery,
    responses: { 200: json('Projects, costliest first', costProjectListResponse) },
  },
  {
    method: 'get', path: '/api/costs/projects/{project_id}', operationId: 'getProjectCosts', tag: 'Costs', summary: 'One project\'s spend',
    description: `Breakdowns by agent, task and model, spend per day, burn rate, projection and the project's budgets. ${windowNote}`,
    params: costProjectParams, query: costDetailQuery,
    responses: { 200: json('The project\'s figures', costProjectResponse) },
    errors: ['PROJECT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/costs/agents', operationId: 'listAgentCosts', tag: 'Costs', summary: 'Spend per agent',
    description: windowNote,
    query: costListQuery,
    responses: { 200: json('Agents, costliest first', costAgentListResponse) },
  },
  {
    method: 'get', path: '/api/costs/agents/{agent_id}', operationId: 'getAgentCosts', tag: 'Costs', summary: 'One agent\'s spend',
    description: `By model, project and task, per day, with burn rate, projection and the budgets that concern the agent. ${windowNote}`,
    params: costAgentParams, query: costAgentDetailQuery,
    responses: { 200: json('The agent\'s figures', costAgentResponse) },
    errors: ['AGENT_NOT_FOUND'],
  },
  {
    method: 'get', path: '/api/costs/timeseries', operationId: 'getCostTimeseries', tag: 'Costs', summary: 'Spend over time in buckets',
    description: 'Hour buckets read the hourly rollup; day, ISO week and month buckets the daily one. At most 2,000 buckets.',
    query: costTimeseriesQuery,
    responses: { 200: json('The series', costTimeseriesResponse) },
  },
  {
    method: 'get', path: '/api/costs/events', operationId: 'listCostEvents', tag: 'Costs', summary: 'The priced usage events',
    description: 'Every figure traces to these rows: tokens, cost, whether it was `reported` or `estimated` (and with which price), or `unpriced`.',
    query: costEventListQuery,
    responses: { 200: json('A page of usage events', costEventListResponse) },
    errors: ['INVALID_CURSOR'],
  },
  {
    method: 'get', path: '/api/costs/prices', operationId: 'listModelPrices', tag: 'Costs', summary: 'The model price table',
    description: 'Shipped prices, custom prices for every project and, with `project_id`, that project\'s overrides. US dollars per million tokens.',
    query: priceListQuery,
    responses: { 200: json('The prices', priceListResponse) },
  },
  {
    method: 'get', path: '/api/costs/prices/resolve', operationId: 'resolveModelPrice', tag: 'Costs', summary: 'Which price applies to a model',
    description: 'Project override, then custom, then shipped; exact names before globs, longer globs first; a provider-specific price first; the latest that took effect by `at`.',
    query: priceResolveQuery,
    responses: { 200: json('The price in force and every candidate', priceResolveResponse) },
  },
  {
    method: 'post', path: '/api/costs/prices', operationId: 'createModelPrice', tag: 'Costs', summary: 'Add a custom price or a project override',
    description: 'Prices for every project need an admin; a project override a member of the project. Stored usage the price applies to is re-costed at once.',
    body: priceBody,
    responses: { 201: json('The price, and what was re-costed', priceChangedResponse) },
  },
  {
    method: 'put', path: '/api/costs/prices/{id}', operationId: 'updateModelPrice', tag: 'Costs', summary: 'Change a custom price',
    description: 'The fields given change; stored usage the price applied or now applies to is re-costed. Shipped prices are read-only (409).',
    params: priceIdParams, body: priceUpdateBody,
    responses: { 200: json('The price, and what was re-costed', priceChangedResponse) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  {
    method: 'delete', path: '/api/costs/prices/{id}', operationId: 'deleteModelPrice', tag: 'Costs', summary: 'Remove a custom price',
    description: 'Stored usage it applied to is re-costed with the next price in line (or becomes unpriced). Shipped prices cannot be deleted (409).',
    params: priceIdParams,
    responses: { 200: json('Deleted, and what was re-costed', priceDeletedResponse) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  {
    method: 'get', path: '/api/costs/budgets', operationId: 'listBudgets', tag: 'Costs', summary: 'Budgets with spend, state and forecast',
    query: budgetListQuery,
    responses: { 200: json('The budgets', budgetListResponse) },
  },
  {
    method: 'post', path: '/api/costs/budgets', operationId: 'createBudget', tag: 'Costs', summary: 'Add a budget',
    description: 'For a project, an agent or a model (name or glob) within a project, per day, week, month or in total. Crossing the warning or the limit raises an alert once per period; `action: pause` also sends `pause_processing` to the agents concerned.',
    body: budgetBody,
    responses: { 201: json('The budget with its status', budgetSchema) },
  },
  {
    method: 'get', path: '/api/costs/budgets/{id}', operationId: 'getBudget', tag: 'Costs', summary: 'One budget with spend, state and forecast',
    params: budgetIdParams, query: budgetDetailQuery,
    responses: { 200: json('The budget', budgetSchema) },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'put', path: '/api/costs/budgets/{id}', operationId: 'updateBudget', tag: 'Costs', summary: 'Change a budget',
    description: 'The fields given change; new thresholds are checked against the period\'s spend at once.',
    params: budgetIdParams, body: budgetUpdateBody,
    responses: { 200: json('The budget with its status', budgetSchema) },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'delete', path: '/api/costs/budgets/{id}', operationId: 'deleteBudget', tag: 'Costs', summary: 'Remove a budget',
    params: budgetIdParams,
    responses: { 200: json('Deleted', budgetDeletedResponse) },
    errors: ['NOT_FOUND'],
  },
]
