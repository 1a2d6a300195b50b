/**
 * The costs tables (re-exported by schema.ts).
 *
 * `cost_events` holds one row per `cost.usage` event, priced by the projection
 * (server/utils/costs-projection.ts). The rollups (`cost_hourly`, `cost_daily`,
 * `cost_task_daily`) are kept by the same projection, so cost answers read a few rollup rows
 * instead of scanning events; re-costing after a price change rewrites the affected events
 * and rebuilds the rollup rows of their (project, model, provider) from them.
 * `model_prices` and `budgets` are operator configuration (like API keys), written by the
 * costs module; `budget_crossings` remembers which threshold of which budget period has
 * already raised its alert (once per period per threshold).
 */
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

export const costEvents = sqliteTable('cost_events', {
  seq: integer('seq').primaryKey(),
  eventId: text('event_id').notNull(),
  projectId: text('project_id').notNull(),
  agentId: text('agent_id'),
  taskId: text('task_id'),
  /** Lower case; null when the source named none. */
  provider: text('provider'),
  model: text('model').notNull(),
  /** Input tokens that were neither read from nor written to a prompt cache. */
  inputTokens: integer('input_tokens').notNull().default(0),
  outputTokens: integer('output_tokens').notNull().default(0),
  cacheReadTokens: integer('cache_read_tokens').notNull().default(0),
  cacheWriteTokens: integer('cache_write_tokens').notNull().default(0),
  /** US dollars; null while unpriced. */
  cost: real('cost'),
  /** `reported` by the source, `estimated` from the price table, or `unpriced` (no price matches the model). */
  costSource: text('cost_source').$type<'reported' | 'estimated' | 'unpriced'>().notNull(),
  ts: integer('ts').notNull(),
  /** The `model_prices` row an estimate was made with. */
  priceId: integer('price_id'),
}, t => [
  uniqueIndex('cost_events_event_uq').on(t.eventId),
  index('cost_events_project_ts_idx').on(t.projectId, t.ts),
  index('cost_events_agent_ts_idx').on(t.agentId, t.ts),
  /** Re-costing rewrites one (project, model, provider) over a time range. */
  index('cost_events_recost_idx').on(t.projectId, t.model, t.provider, t.ts),
])

export const modelPrices = sqliteTable('model_prices', {
  id: integer('id').primaryKey(),
  /** null: applies to every project; otherwise an override for that project. */
  projectId: text('project_id'),
  /** null: any provider. */
  provider: text('provider'),
  /** Exact model name or a glob (`claude-sonnet-4*`), matched case-insensitively. */
  modelPattern: text('model_pattern').notNull(),
  /** US dollars per million tokens. */
  inputPerMtok: real('input_per_mtok').notNull(),
  outputPerMtok: real('output_per_mtok').notNull(),
  /** null: priced as input. */
  cacheReadPerMtok: real('cache_read_per_mtok'),
  cacheWritePerMtok: real('cache_write_per_mtok'),
  /** The price applies to usage from this time on (until a later price of the same pattern). */
  effectiveFrom: integer('effective_from').notNull(),
  /** Shipped with Seneca (kept in step with the code at boot); read-only through the API. */
  builtin: integer('builtin', { mode: 'boolean' }).notNull().default(false),
  note: text('note'),
  createdBy: text('created_by'),
  createdAt: integer('created_at').notNull().default(0),
  updatedAt: integer('updated_at').notNull().default(0),
}, t => [index('model_prices_pattern_idx').on(t.modelPattern)])

export const budgets = sqliteTable('budgets', {
  id: text('id').primaryKey(),
  projectId: text('project_id'),
  /** `project`, `agent` or `model`. */
  scope: text('scope').notNull(),
  /** The project id, the agent id, or the model name or glob. */
  scopeId: text('scope_id').notNull(),
  period: text('period').$type<'day' | 'week' | 'month' | 'total'>().notNull(),
  limitUsd: real('limit_usd').notNull(),
  warningRatio: real('warning_ratio').notNull().default(0.8),
  action: text('action').$type<'alert' | 'pause'>().notNull().default('alert'),
  createdAt: integer('created_at').notNull(),
  name: text('name'),
  createdBy: text('created_by'),
  updatedAt: integer('updated_at').notNull().default(0),
}, t => [index('budgets_project_idx').on(t.projectId)])

/** Once per budget, period and threshold: the alert was raised (and agents paused, for `pause`). */
export const budgetCrossings = sqliteTable('budget_crossings', {
  budgetId: text('budget_id').notNull(),
  /** Start of the budget period (epoch ms; 0 for `total`). */
  periodStart: integer('period_start').notNull(),
  threshold: text('threshold').$type<'warning' | 'limit'>().notNull(),
  crossedAt: integer('crossed_at').notNull(),
  /** Spend when the crossing was seen. */
  spent: real('spent').notNull(),
  alertId: text('alert_id').notNull(),
  /** Agents sent `pause_processing` (JSON array). */
  pausedAgents: text('paused_agents', { mode: 'json' }).$type<string[]>(),
}, t => [primaryKey({ columns: [t.budgetId, t.periodStart, t.threshold] })])

/** Columns of every cost rollup. `agent_id` and `provider` are '' when the event named none. */
const rollupFigures = {
  events: integer('events').notNull().default(0),
  inputTokens: integer('input_tokens').notNull().default(0),
  outputTokens: integer('output_tokens').notNull().default(0),
  cacheReadTokens: integer('cache_read_tokens').notNull().default(0),
  cacheWriteTokens: integer('cache_write_tokens').notNull().default(0),
  /** Reported plus estimated cost, US dollars. */
  cost: real('cost').notNull().default(0),
  reportedCost: real('reported_cost').notNull().default(0),
  unpricedEvents: integer('unpriced_events').notNull().default(0),
}

export const costHourly = sqliteTable('cost_hourly', {
  projectId: text('project_id').notNull(),
  /** Start of the UTC hour, epoch ms. */
  hour: integer('hour').notNull(),
  agentId: text('agent_id').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.hour, t.agentId, t.model, t.provider] }),
  index('cost_hourly_hour_idx').on(t.hour),
  index('cost_hourly_agent_idx').on(t.agentId, t.hour),
])

export const costDaily = sqliteTable('cost_daily', {
  projectId: text('project_id').notNull(),
  /** Start of the UTC day, epoch ms. */
  day: integer('day').notNull(),
  agentId: text('agent_id').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.day, t.agentId, t.model, t.provider] }),
  index('cost_daily_day_idx').on(t.day),
  index('cost_daily_agent_idx').on(t.agentId, t.day),
])

/**
 * Per hour and per day without the agent: time series and burn rates that do not look at
 * agents read a row per model instead of one per agent and model.
 */
export const costModelHourly = sqliteTable('cost_model_hourly', {
  projectId: text('project_id').notNull(),
  hour: integer('hour').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.hour, t.model, t.provider] }),
  index('cost_model_hourly_hour_idx').on(t.hour),
])

export const costModelDaily = sqliteTable('cost_model_daily', {
  projectId: text('project_id').notNull(),
  day: integer('day').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.day, t.model, t.provider] }),
  index('cost_model_daily_day_idx').on(t.day),
])

/** Per UTC month (the month's first day, 00:00): long windows read a row per month instead of one per day. */
export const costMonthly = sqliteTable('cost_monthly', {
  projectId: text('project_id').notNull(),
  month: integer('month').notNull(),
  agentId: text('agent_id').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.month, t.agentId, t.model, t.provider] }),
  index('cost_monthly_month_idx').on(t.month),
  index('cost_monthly_agent_idx').on(t.agentId, t.month),
])

/**
 * Per task and UTC month, all models together: the costliest tasks of a month are the first
 * entries of an index instead of a sum over every task.
 */
export const costTaskMonthly = sqliteTable('cost_task_monthly', {
  projectId: text('project_id').notNull(),
  taskId: text('task_id').notNull(),
  month: integer('month').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.taskId, t.month] }),
  index('cost_task_monthly_cost_idx').on(t.month, t.cost),
  index('cost_task_monthly_project_cost_idx').on(t.projectId, t.month, t.cost),
])

/** Per task and UTC day; events without a task are not in it. */
export const costTaskDaily = sqliteTable('cost_task_daily', {
  projectId: text('project_id').notNull(),
  taskId: text('task_id').notNull(),
  day: integer('day').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.taskId, t.day, t.model, t.provider] }),
  index('cost_task_daily_day_idx').on(t.projectId, t.day),
])

/**
 * Per project and agent, all models together, by hour, day and month: agent breakdowns read a
 * row per agent instead of one per agent and model.
 */
export const costAgentHourly = sqliteTable('cost_agent_hourly', {
  projectId: text('project_id').notNull(),
  hour: integer('hour').notNull(),
  agentId: text('agent_id').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.hour, t.agentId] }),
  index('cost_agent_hourly_hour_idx').on(t.hour),
  /** An agent's burn rate: its first usage and its last hours. */
  index('cost_agent_hourly_agent_idx').on(t.agentId, t.hour),
])

export const costAgentDaily = sqliteTable('cost_agent_daily', {
  projectId: text('project_id').notNull(),
  day: integer('day').notNull(),
  agentId: text('agent_id').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.day, t.agentId] }),
  index('cost_agent_daily_day_idx').on(t.day),
  /** An agent's days, whichever project. */
  index('cost_agent_daily_agent_idx').on(t.agentId, t.day),
])

export const costAgentMonthly = sqliteTable('cost_agent_monthly', {
  projectId: text('project_id').notNull(),
  month: integer('month').notNull(),
  agentId: text('agent_id').notNull(),
  ...rollupFigures,
}, t => [primaryKey({ columns: [t.projectId, t.month, t.agentId] }), index('cost_agent_monthly_month_idx').on(t.month)])

/** Per project and model by UTC month (the monthly rollup without the agent). */
export const costModelMonthly = sqliteTable('cost_model_monthly', {
  projectId: text('project_id').notNull(),
  month: integer('month').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [primaryKey({ columns: [t.projectId, t.month, t.model, t.provider] }), index('cost_model_monthly_month_idx').on(t.month)])

/**
 * Per UTC day and model over every project: daily series of all projects read a row per day
 * and model.
 */
export const costDayModel = sqliteTable('cost_day_model', {
  day: integer('day').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [primaryKey({ columns: [t.day, t.model, t.provider] })])

/**
 * Per quarter of a UTC day (6 hours from 00:00, 06:00, 12:00, 18:00), by model and by agent: the
 * ragged hours at either edge of a window read a row per quarter instead of six hourly ones.
 */
export const costModelQuarterly = sqliteTable('cost_model_quarterly', {
  projectId: text('project_id').notNull(),
  /** Start of the quarter, epoch ms. */
  quarter: integer('quarter').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.quarter, t.model, t.provider] }),
  index('cost_model_quarterly_quarter_idx').on(t.quarter),
])

export const costAgentQuarterly = sqliteTable('cost_agent_quarterly', {
  projectId: text('project_id').notNull(),
  quarter: integer('quarter').notNull(),
  agentId: text('agent_id').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.quarter, t.agentId] }),
  index('cost_agent_quarterly_quarter_idx').on(t.quarter),
  index('cost_agent_quarterly_agent_idx').on(t.agentId, t.quarter),
])

/**
 * Per UTC hour and model over every project: hourly series of all projects read a row per hour
 * and model instead of one per project, hour and model.
 */
export const costHourModel = sqliteTable('cost_hour_model', {
  hour: integer('hour').notNull(),
  model: text('model').notNull(),
  provider: text('provider').notNull(),
  ...rollupFigures,
}, t => [primaryKey({ columns: [t.hour, t.model, t.provider] })])

/**
 * Per agent, task and UTC day, all models together (usage naming both an agent and a task): an
 * agent's costliest tasks over a window read its own rows instead of its usage events.
 */
export const costAgentTaskDaily = sqliteTable('cost_agent_task_daily', {
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  taskId: text('task_id').notNull(),
  day: integer('day').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.agentId, t.taskId, t.day] }),
  index('cost_agent_task_daily_agent_idx').on(t.agentId, t.day),
])

/** The same per UTC month: an agent's costliest tasks of a month are the first entries of an index. */
export const costAgentTaskMonthly = sqliteTable('cost_agent_task_monthly', {
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  taskId: text('task_id').notNull(),
  month: integer('month').notNull(),
  ...rollupFigures,
}, t => [
  primaryKey({ columns: [t.projectId, t.agentId, t.taskId, t.month] }),
  index('cost_agent_task_monthly_cost_idx').on(t.agentId, t.month, t.cost),
])

/**
 * Tasks with usage in more than one UTC month, with their first and last such month (kept by
 * a trigger on `cost_task_monthly`): the only tasks whose cost over a window of several months
 * can exceed their cost in any one month.
 */
export const costTaskSpans = sqliteTable('cost_task_spans', {
  projectId: text('project_id').notNull(),
  taskId: text('task_id').notNull(),
  firstMonth: integer('first_month').notNull(),
  lastMonth: integer('last_month').notNull(),
}, t => [primaryKey({ columns: [t.projectId, t.taskId] })])

export type CostEventRow = typeof costEvents.$inferSelect
export type ModelPriceRow = typeof modelPrices.$inferSelect
export type BudgetRow = typeof budgets.$inferSelect
