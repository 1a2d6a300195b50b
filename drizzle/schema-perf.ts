/**
 * Read-side totals (re-exported by schema.ts), so that agent lists and conversation analytics
 * read a handful of rows instead of summing every hourly rollup or counting every
 * conversation. All of it is derived: SQL triggers on `message_rollups` and `conversations`
 * keep it by delta (created with the tables in their migration), so it stays true whoever
 * writes those tables, and the migration fills it from the rows that already exist.
 */
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/** Each agent's message figures per project over all time: `message_rollups` without the hour. */
export const agentMessageTotals = sqliteTable('agent_message_totals', {
  agentId: text('agent_id').notNull(),
  projectId: text('project_id').notNull(),
  messages: integer('messages').notNull().default(0),
  errors: integer('errors').notNull().default(0),
  responses: integer('responses').notNull().default(0),
  responseMsSum: integer('response_ms_sum').notNull().default(0),
}, t => [primaryKey({ columns: [t.agentId, t.projectId] })])

/** Each project's message figures per UTC hour: `message_rollups` without the agent. */
export const projectHourRollups = sqliteTable('project_hour_rollups', {
  projectId: text('project_id').notNull(),
  /** Start of the UTC hour, epoch ms. */
  hour: integer('hour').notNull(),
  messages: integer('messages').notNull().default(0),
  errors: integer('errors').notNull().default(0),
  responses: integer('responses').notNull().default(0),
  responseMsSum: integer('response_ms_sum').notNull().default(0),
}, t => [
  primaryKey({ columns: [t.projectId, t.hour] }),
  // Every project's hours before or after an analytics window's start, without reading the others.
  index('project_hour_rollups_hour_idx').on(t.hour),
])

/**
 * Each agent's messages per project up to and including each hour (a running total over the
 * hours of `message_rollups`), so an analytics window sums an agent's hours after any start
 * with one look-up instead of one row per hour. A row exists for every rollup hour; the total
 * up to any hour is the row of the latest hour at or before it. WITHOUT ROWID (in the migration).
 */
export const agentMessageRunning = sqliteTable('agent_message_running', {
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  /** Start of the UTC hour, epoch ms. */
  hour: integer('hour').notNull(),
  messages: integer('messages').notNull().default(0),
}, t => [primaryKey({ columns: [t.projectId, t.agentId, t.hour] })])

/** How many conversations each agent leads per project; `agent_id` '' for conversations without one. */
export const conversationAgentCounts = sqliteTable('conversation_agent_counts', {
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  conversations: integer('conversations').notNull().default(0),
}, t => [primaryKey({ columns: [t.projectId, t.agentId] })])
