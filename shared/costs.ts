/**
 * The cost endpoints' request and response schemas (`/api/costs/...`): usage priced by the
 * model price table, per project, agent, task and model, time series, prices and budgets.
 */
import { z } from 'zod'
import { idParam, intParam, timeParam } from './query'

const time = z.iso.datetime()
const count = z.number().int().min(0)
const usd = z.number().describe('US dollars')

export const costPeriods = ['day', 'week', 'month'] as const
export const budgetPeriods = ['day', 'week', 'month', 'total'] as const
export const budgetScopes = ['project', 'agent', 'model'] as const
export const costBuckets = ['hour', 'day', 'week', 'month'] as const

// ---------------------------------------------------------------------------------------
// Requests

/** The window of an answer: the current `period` (UTC), or `since`/`until`. */
const windowQuery = {
  period: z.enum(costPeriods).default('month').describe('The calendar period (UTC) that contains `as_of`: day, ISO week (from Monday) or month. Ignored when `since` is given.'),
  since: timeParam.optional().describe('Start of a custom window (applied at hour granularity; per-task figures at day granularity).'),
  until: timeParam.optional().describe('End of a custom window (default `as_of`).'),
  as_of: timeParam.optional().describe('The moment answers are computed for (default now): where the period is, where the burn rate window ends.'),
  burn_window_hours: intParam('burn_window_hours', 24, 1, 24 * 90).describe('Hours of spend the burn rate is measured over (ending at `as_of`).'),
}

export const costSummaryQuery = z.object({
  project_id: idParam.optional(),
  ...windowQuery,
  top: intParam('top', 10, 1, 100).describe('How many rows each breakdown lists (by cost, highest first).'),
})

export const costListQuery = z.object({
  project_id: idParam.optional(),
  ...windowQuery,
  limit: intParam('limit', 100, 1, 1000),
})

export const costProjectParams = z.object({ project_id: idParam })
export const costAgentParams = z.object({ agent_id: idParam })
export const costDetailQuery = z.object({ ...windowQuery, top: intParam('top', 10, 1, 100) })
export const costAgentDetailQuery = z.object({ project_id: idParam.optional(), ...windowQuery, top: intParam('top', 10, 1, 100) })

export const costTimeseriesQuery = z.object({
  bucket: z.enum(costBuckets).default('day'),
  since: timeParam.optional().describe('Default: 48 buckets before `until`.'),
  until: timeParam.optional().describe('Default: now.'),
  project_id: idParam.optional(),
  agent_id: idParam.optional(),
  model: z.string().min(1).max(256).optional(),
  group_by: z.enum(['project', 'agent', 'model']).optional().describe('Adds a series per project, agent or model (the 10 costliest).'),
})

export const costEventListQuery = z.object({
  project_id: idParam.optional(),
  agent_id: idParam.optional(),
  task_id: idParam.optional(),
  model: z.string().min(1).max(256).optional(),
  cost_source: z.enum(['reported', 'estimated', 'unpriced']).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: intParam('limit', 100, 1, 1000),
  cursor: z.string().max(40).optional().describe('The previous page\'s `next_cursor`.'),
})

const perMtok = z.number().min(0).max(1_000_000)

export const priceBody = z.strictObject({
  model_pattern: z.string().trim().min(1).max(256).describe('Exact model name or a glob (`claude-sonnet-4*`), case-insensitive.'),
  provider: z.string().trim().min(1).max(64).nullable().optional().describe('Only usage from this provider; absent: any.'),
  project_id: idParam.nullable().optional().describe('An override for this project; absent: every project (admins only).'),
  input_per_mtok: perMtok,
  output_per_mtok: perMtok,
  cache_read_per_mtok: perMtok.nullable().optional().describe('Absent: priced as input.'),
  cache_write_per_mtok: perMtok.nullable().optional().describe('Absent: priced as input.'),
  effective_from: timeParam.or(z.number().int().min(0)).optional().describe('Default: the beginning of time (applies to all past usage).'),
  note: z.string().max(1000).nullable().optional(),
})
export type PriceBody = z.output<typeof priceBody>

export const priceUpdateBody = priceBody.partial()
export const priceIdParams = z.object({ id: z.string().regex(/^\d{1,15}$/, 'a price id is a number').transform(Number) })

export const priceListQuery = z.object({
  project_id: idParam.optional().describe('Also that project\'s overrides (without: prices for every project only).'),
  model: z.string().min(1).max(256).optional().describe('Only prices whose pattern matches this model name.'),
  source: z.enum(['builtin', 'custom', 'project']).optional(),
})

export const priceResolveQuery = z.object({
  model: z.string().min(1).max(256),
  provider: z.string().min(1).max(64).optional(),
  project_id: idParam.optional(),
  at: timeParam.optional().describe('Default: now.'),
})

export const budgetBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  project_id: idParam,
  scope: z.enum(budgetScopes).default('project'),
  scope_id: z.string().trim().min(1).max(256).optional().describe('The agent id or the model name or glob; for `project`, the project (default).'),
  period: z.enum(budgetPeriods).default('month'),
  limit_usd: z.number().positive().max(1e12),
  warning_ratio: z.number().gt(0).max(1).optional().describe('Warn at this share of the limit (default 0.8).'),
  warning_usd: z.number().positive().max(1e12).optional().describe('Or warn at this amount (instead of `warning_ratio`).'),
  action: z.enum(['alert', 'pause']).default('alert').describe('`pause`: on reaching the limit, send `pause_processing` to the agents concerned.'),
}).refine(b => b.warning_ratio === undefined || b.warning_usd === undefined, 'give warning_ratio or warning_usd, not both')
  .refine(b => b.warning_usd === undefined || b.warning_usd <= b.limit_usd, 'warning_usd must not exceed limit_usd')

export const budgetUpdateBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  period: z.enum(budgetPeriods).optional(),
  limit_usd: z.number().positive().max(1e12).optional(),
  warning_ratio: z.number().gt(0).max(1).optional(),
  warning_usd: z.number().positive().max(1e12).optional(),
  action: z.enum(['alert', 'pause']).optional(),
}).refine(b => b.warning_ratio === undefined || b.warning_usd === undefined, 'give warning_ratio or warning_usd, not both')

export const budgetIdParams = z.object({ id: idParam })
export const budgetListQuery = z.object({
  project_id: idParam.optional(),
  as_of: timeParam.optional(),
  burn_window_hours: intParam('burn_window_hours', 24, 1, 24 * 90),
})
export const budgetDetailQuery = budgetListQuery.omit({ project_id: true })

// ---------------------------------------------------------------------------------------
// Responses

export const costFigures = z.object({
  cost: usd.describe('Reported plus estimated cost, US dollars.'),
  estimated_cost: usd.describe('The part priced from the model price table.'),
  reported_cost: usd.describe('The part the sources reported themselves.'),
  events: count,
  unpriced_events: count.describe('Usage of a model with no price: its tokens count, its cost does not.'),
  input_tokens: count,
  output_tokens: count,
  cache_read_tokens: count,
  cache_write_tokens: count,
  total_tokens: count,
})
export type CostFigures = z.output<typeof costFigures>

const windowSchema = z.object({
  period: z.enum([...costPeriods, 'custom']),
  start: time,
  end: time.describe('End of the period (exclusive), or of the custom window.'),
  as_of: time,
}).meta({ id: 'CostWindow' })

const burnRate = z.object({
  per_hour: usd,
  per_day: usd,
  window_start: time.describe('Start of the measured window: `as_of` minus `burn_window_hours`, or the first usage if later.'),
  window_end: time,
  hours: z.number().describe('Length of the measured window in hours.'),
  cost_in_window: usd,
}).meta({ id: 'CostBurnRate', description: 'Spend per hour = cost in the window / its hours (from hourly rollups).' })

const projection = z.object({
  period_end: time,
  hours_remaining: z.number(),
  spent: usd.describe('Spent in the window so far.'),
  projected_cost: usd.describe('`spent` + `per_hour` × `hours_remaining`.'),
}).nullable().meta({ id: 'CostProjection', description: 'Spend expected by the end of the window at the current burn rate; null when the window has ended.' })

const projectRow = costFigures.extend({ project_id: z.string(), name: z.string().nullable() })
const agentRow = costFigures.extend({ agent_id: z.string().nullable().describe('null: usage that named no agent.') })
const taskRow = costFigures.extend({ task_id: z.string(), project_id: z.string(), name: z.string().nullable() })
const modelRow = costFigures.extend({ model: z.string(), provider: z.string().nullable() })

export const costSummaryResponse = z.object({
  currency: z.literal('USD'),
  total_cost: usd.describe('Same as `totals.cost`.'),
  window: windowSchema,
  totals: costFigures,
  by_project: z.array(projectRow),
  by_agent: z.array(agentRow),
  by_task: z.array(taskRow).describe('At day granularity: every UTC day that overlaps the window.'),
  by_model: z.array(modelRow),
  burn_rate: burnRate,
  projection,
}).meta({ id: 'CostSummary' })

const budgetStatus = z.object({
  period_start: time.nullable().describe('null for `total`.'),
  period_end: time.nullable(),
  spent: usd,
  remaining: usd,
  ratio: z.number().describe('spent / limit'),
  state: z.enum(['ok', 'warning', 'exceeded']),
  warning_crossed_at: time.nullable(),
  limit_crossed_at: time.nullable(),
  paused_agents: z.array(z.string()).describe('Agents sent `pause_processing` when this period\'s limit was reached.'),
  burn_rate_per_hour: usd,
  forecast: z.object({
    exhausted_at: time.nullable().describe('When the limit is (or was) reached at the current burn rate; null if never (no spend) .'),
    hours_to_limit: z.number().nullable().describe('0 once exceeded; null with no spend.'),
    projected_spend: usd.nullable().describe('Spend by the end of the period at the current burn rate; null for `total`.'),
    will_exceed_in_period: z.boolean(),
  }),
}).meta({ id: 'BudgetStatus' })

export const budgetSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  project_id: z.string(),
  scope: z.enum(budgetScopes),
  scope_id: z.string(),
  period: z.enum(budgetPeriods),
  limit_usd: usd,
  warning_ratio: z.number(),
  warning_usd: usd,
  action: z.enum(['alert', 'pause']),
  created_by: z.string().nullable(),
  created_at: time,
  updated_at: time,
  status: budgetStatus,
}).meta({ id: 'Budget' })
export type BudgetView = z.output<typeof budgetSchema>

export const budgetListResponse = z.object({ budgets: z.array(budgetSchema), as_of: time }).meta({ id: 'BudgetList' })
export const budgetDeletedResponse = z.object({ id: z.string(), deleted: z.literal(true) }).meta({ id: 'BudgetDeleted' })

export const costProjectListResponse = z.object({
  currency: z.literal('USD'),
  window: windowSchema,
  projects: z.array(projectRow.extend({ burn_rate_per_day: usd, projected_cost: usd.nullable() })),
}).meta({ id: 'CostProjectList' })

export const costProjectResponse = z.object({
  currency: z.literal('USD'),
  project_id: z.string(),
  name: z.string().nullable(),
  window: windowSchema,
  totals: costFigures,
  by_agent: z.array(agentRow),
  by_task: z.array(taskRow),
  by_model: z.array(modelRow),
  daily: z.array(costFigures.extend({ start: time })).describe('Every UTC day of the window with usage.'),
  burn_rate: burnRate,
  projection,
  budgets: z.array(budgetSchema),
}).meta({ id: 'CostProject' })

export const costAgentListResponse = z.object({
  currency: z.literal('USD'),
  window: windowSchema,
  agents: z.array(costFigures.extend({ agent_id: z.string(), project_id: z.string(), burn_rate_per_day: usd })),
}).meta({ id: 'CostAgentList' })

export const costAgentResponse = z.object({
  currency: z.literal('USD'),
  agent_id: z.string(),
  projects: z.array(z.string()).describe('Projects the agent has usage in (within the caller\'s).'),
  window: windowSchema,
  totals: costFigures,
  by_model: z.array(modelRow),
  by_project: z.array(projectRow),
  by_task: z.array(taskRow).describe('From the agent\'s own usage rows, within the window.'),
  daily: z.array(costFigures.extend({ start: time })),
  burn_rate: burnRate,
  projection,
  budgets: z.array(budgetSchema),
}).meta({ id: 'CostAgent' })

const point = costFigures.extend({ start: time })
export const costTimeseriesResponse = z.object({
  currency: z.literal('USD'),
  bucket: z.enum(costBuckets),
  since: time,
  until: time,
  points: z.array(point).describe('One per bucket from `since` to `until`, empty buckets included.'),
  series: z.array(z.object({ key: z.string().nullable(), provider: z.string().nullable().optional(), cost: usd, points: z.array(point) })).optional(),
}).meta({ id: 'CostTimeseries' })

export const costEventSchema = z.object({
  id: z.string().describe('The event id.'),
  seq: count,
  project_id: z.string(),
  agent_id: z.string().nullable(),
  task_id: z.string().nullable(),
  provider: z.string().nullable(),
  model: z.string(),
  input_tokens: count,
  output_tokens: count,
  cache_read_tokens: count,
  cache_write_tokens: count,
  cost: usd.nullable(),
  cost_source: z.enum(['reported', 'estimated', 'unpriced']),
  price_id: z.number().int().nullable().describe('The price an estimate used.'),
  timestamp: time,
}).meta({ id: 'CostEvent' })

export const costEventListResponse = z.object({
  events: z.array(costEventSchema).describe('Newest first (by time, then by seq).'),
  has_more: z.boolean(),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; set whenever `has_more`.'),
}).meta({ id: 'CostEventList' })

export const priceSchema = z.object({
  id: z.number().int(),
  source: z.enum(['builtin', 'custom', 'project']).describe('Shipped with Seneca (read-only), custom for every project, or a project override.'),
  project_id: z.string().nullable(),
  provider: z.string().nullable(),
  model_pattern: z.string(),
  input_per_mtok: usd,
  output_per_mtok: usd,
  cache_read_per_mtok: usd.nullable(),
  cache_write_per_mtok: usd.nullable(),
  effective_from: time,
  note: z.string().nullable(),
  created_by: z.string().nullable(),
  updated_at: time.nullable(),
}).meta({ id: 'ModelPrice' })
export type PriceView = z.output<typeof priceSchema>

export const priceListResponse = z.object({ prices: z.array(priceSchema) }).meta({ id: 'ModelPriceList' })

const recosted = z.object({
  events: count.describe('Stored usage events priced again.'),
  models: count.describe('(project, model, provider) combinations whose rollups were rebuilt.'),
}).meta({ id: 'Recosted' })

export const priceChangedResponse = z.object({ price: priceSchema, recosted }).meta({ id: 'ModelPriceChanged' })
export const priceDeletedResponse = z.object({ id: z.number().int(), deleted: z.literal(true), recosted }).meta({ id: 'ModelPriceDeleted' })

export const priceResolveResponse = z.object({
  model: z.string(),
  provider: z.string().nullable(),
  project_id: z.string().nullable(),
  at: time,
  price: priceSchema.nullable().describe('The price in force; null: usage of this model is unpriced.'),
  candidates: z.array(priceSchema).describe('Every price that matches, in precedence order (including ones not yet in effect at `at`).'),
}).meta({ id: 'ModelPriceResolution' })
