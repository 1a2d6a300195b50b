/**
 * The insights tables (re-exported by schema.ts): incremental state kept by
 * server/insights/rollups.ts from the event log, so that memory, pattern and prediction
 * answers read a few rollup rows instead of scanning tasks, blockers and messages.
 *
 * Everything here is derived: dropping these rows and resetting `insight_state` rebuilds
 * them from the domain tables. Counters are kept by delta (the old contribution of a task or
 * blocker is taken back before its new one is added), so a task that changes state is never
 * counted twice.
 */
import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/** Watermarks of the rollup: `events` = the last event seq applied. */
export const insightState = sqliteTable('insight_state', {
  name: text('name').primaryKey(),
  value: integer('value').notNull(),
})

/** What one task contributes to the rollups, as last applied (taken back when it changes). */
export const insightTaskFacts = sqliteTable('insight_task_facts', {
  taskId: text('task_id').primaryKey(),
  projectId: text('project_id').notNull(),
  /** The agent that finished the task, or holds it while open. */
  agentId: text('agent_id'),
  status: text('status').notNull(),
  /** The task's labels, or `role:<agent type>` when it has none (JSON array). */
  labels: text('labels').notNull(),
  /** [{agent, label, …counter deltas}] as added to insight_agent_labels/weeks (JSON). */
  contributions: text('contributions').notNull(),
  startedAt: integer('started_at'),
  completedAt: integer('completed_at'),
  /** Last assignment or progress report. */
  lastProgressAt: integer('last_progress_at'),
  estimatedHours: real('estimated_hours'),
  /** Wall-clock hours from start to completion, for done tasks. */
  actualHours: real('actual_hours'),
  blockers: integer('blockers').notNull().default(0),
}, t => [
  index('insight_task_facts_project_status_idx').on(t.projectId, t.status),
  index('insight_task_facts_agent_completed_idx').on(t.agentId, t.completedAt),
  /** Covers stall detection: the in-progress tasks of projects with their agent and last report, without reading the rows. */
  index('insight_task_facts_status_idx').on(t.status, t.projectId, t.agentId, t.lastProgressAt, t.taskId),
  /** Stall detection reads in-progress tasks longest idle first and stops after the ones shown. */
  index('insight_task_facts_stall_idx').on(t.status, t.lastProgressAt, t.taskId),
])

/** Which tasks carry a label key: the evidence behind label figures. */
export const insightTaskLabels = sqliteTable('insight_task_labels', {
  projectId: text('project_id').notNull(),
  label: text('label').notNull(),
  taskId: text('task_id').notNull(),
}, t => [primaryKey({ columns: [t.projectId, t.label, t.taskId] }), index('insight_task_labels_task_idx').on(t.taskId)])

/**
 * Per project, agent and label key: what the agent did with such tasks. The row with label
 * '' is the agent's total in the project.
 */
export const insightAgentLabels = sqliteTable('insight_agent_labels', {
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  label: text('label').notNull(),
  /** Tasks the agent worked on (held at some point). */
  tasks: integer('tasks').notNull().default(0),
  succeeded: integer('succeeded').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  /** Tasks the agent reported a blocker on. */
  blocked: integer('blocked').notNull().default(0),
  /** Tasks taken from the agent and given to another. */
  handedOff: integer('handed_off').notNull().default(0),
  /** Tasks the agent holds that are not finished. */
  open: integer('open').notNull().default(0),
  /** Finished tasks with an estimate and a measured duration. */
  estN: integer('est_n').notNull().default(0),
  estSum: real('est_sum').notNull().default(0),
  actSum: real('act_sum').notNull().default(0),
  /** Sum of |actual − estimate| ÷ estimate. */
  apeSum: real('ape_sum').notNull().default(0),
  /** Gaps between consecutive assignment/progress reports, in ms. */
  gapN: integer('gap_n').notNull().default(0),
  gapSum: real('gap_sum').notNull().default(0),
}, t => [
  primaryKey({ columns: [t.projectId, t.agentId, t.label] }),
  index('insight_agent_labels_label_idx').on(t.projectId, t.label),
  index('insight_agent_labels_agent_idx').on(t.label, t.agentId),
])

/**
 * The same counters summed over every project, per agent and label key: what an admin's
 * cross-project view reads, so it costs agents × labels rows rather than projects × agents × labels.
 */
export const insightAgentLabelTotals = sqliteTable('insight_agent_label_totals', {
  agentId: text('agent_id').notNull(),
  label: text('label').notNull(),
  tasks: integer('tasks').notNull().default(0),
  succeeded: integer('succeeded').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  blocked: integer('blocked').notNull().default(0),
  handedOff: integer('handed_off').notNull().default(0),
  open: integer('open').notNull().default(0),
  estN: integer('est_n').notNull().default(0),
  estSum: real('est_sum').notNull().default(0),
  actSum: real('act_sum').notNull().default(0),
  apeSum: real('ape_sum').notNull().default(0),
  gapN: integer('gap_n').notNull().default(0),
  gapSum: real('gap_sum').notNull().default(0),
}, t => [primaryKey({ columns: [t.agentId, t.label] }), index('insight_agent_label_totals_label_idx').on(t.label)])

/** Per project, agent and ISO week (Monday 00:00 UTC, epoch ms): the learning curve. */
export const insightAgentWeeks = sqliteTable('insight_agent_weeks', {
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  week: integer('week').notNull(),
  finished: integer('finished').notNull().default(0),
  succeeded: integer('succeeded').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  blocked: integer('blocked').notNull().default(0),
  estN: integer('est_n').notNull().default(0),
  estSum: real('est_sum').notNull().default(0),
  actSum: real('act_sum').notNull().default(0),
  apeSum: real('ape_sum').notNull().default(0),
}, t => [primaryKey({ columns: [t.projectId, t.agentId, t.week] }), index('insight_agent_weeks_agent_idx').on(t.agentId, t.week)])

/** Completions per project and UTC hour: velocity. */
export const insightProjectHours = sqliteTable('insight_project_hours', {
  projectId: text('project_id').notNull(),
  hour: integer('hour').notNull(),
  completed: integer('completed').notNull().default(0),
  /** Estimated hours of the tasks completed in the hour. */
  completedEstimate: real('completed_estimate').notNull().default(0),
}, t => [primaryKey({ columns: [t.projectId, t.hour] })])

/** Activity per project and hour of the day (0–23 UTC): peak hours. */
export const insightHoursOfDay = sqliteTable('insight_hours_of_day', {
  projectId: text('project_id').notNull(),
  hod: integer('hod').notNull(),
  completed: integer('completed').notNull().default(0),
  messages: integer('messages').notNull().default(0),
  blockers: integer('blockers').notNull().default(0),
}, t => [primaryKey({ columns: [t.projectId, t.hod] })])

/** Each blocker as last applied to the groups. */
export const insightBlockerFacts = sqliteTable('insight_blocker_facts', {
  blockerId: text('blocker_id').primaryKey(),
  projectId: text('project_id').notNull(),
  /** Normalised description: blockers with the same key recur. */
  key: text('key').notNull(),
  agentId: text('agent_id'),
  taskId: text('task_id'),
  status: text('status').notNull(),
  reportedAt: integer('reported_at').notNull(),
  resolvedAt: integer('resolved_at'),
}, t => [index('insight_blocker_facts_key_idx').on(t.projectId, t.key, t.reportedAt)])

/** Blockers grouped by normalised description. */
export const insightBlockerGroups = sqliteTable('insight_blocker_groups', {
  projectId: text('project_id').notNull(),
  key: text('key').notNull(),
  occurrences: integer('occurrences').notNull().default(0),
  resolved: integer('resolved').notNull().default(0),
  /** Sum of resolved − reported over resolved blockers. */
  resolvedDelayMs: integer('resolved_delay_ms').notNull().default(0),
  openCount: integer('open_count').notNull().default(0),
  /** Sum of reported_at over open blockers: open delay at time T is open_count × T − this. */
  openReportedSum: integer('open_reported_sum').notNull().default(0),
  firstReportedAt: integer('first_reported_at'),
  lastReportedAt: integer('last_reported_at'),
  /** One description of the group as reported. */
  sample: text('sample').notNull(),
}, t => [primaryKey({ columns: [t.projectId, t.key] }), index('insight_blocker_groups_occ_idx').on(t.projectId, t.occurrences)])

export const insightBlockerAgents = sqliteTable('insight_blocker_agents', {
  projectId: text('project_id').notNull(),
  key: text('key').notNull(),
  agentId: text('agent_id').notNull(),
  occurrences: integer('occurrences').notNull().default(0),
}, t => [primaryKey({ columns: [t.projectId, t.key, t.agentId] }), index('insight_blocker_agents_agent_idx').on(t.agentId)])

/** The running streak of near-identical messages per sender and conversation. */
export const insightMessageStreaks = sqliteTable('insight_message_streaks', {
  projectId: text('project_id').notNull(),
  conversationId: text('conversation_id').notNull(),
  sender: text('sender').notNull(),
  /** Normalised text of the sender's last message. */
  lastText: text('last_text').notNull(),
  streak: integer('streak').notNull(),
  startedAt: integer('started_at').notNull(),
  lastTs: integer('last_ts').notNull(),
  /** The first few message ids of the streak (JSON). */
  messageIds: text('message_ids').notNull(),
}, t => [primaryKey({ columns: [t.projectId, t.conversationId, t.sender] })])

/** Streaks that reached the loop threshold. */
export const insightLoops = sqliteTable('insight_loops', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  agentId: text('agent_id').notNull(),
  conversationId: text('conversation_id').notNull(),
  startedAt: integer('started_at').notNull(),
  lastTs: integer('last_ts').notNull(),
  repeats: integer('repeats').notNull(),
  sample: text('sample').notNull(),
  messageIds: text('message_ids').notNull(),
}, t => [index('insight_loops_project_idx').on(t.projectId, t.lastTs)])

/**
 * Each task as the dependency graph needs it, stored by project (the migration makes it a
 * WITHOUT ROWID table, so a project's tasks lie together): loading a project's graph is one
 * range read instead of thousands of scattered task rows.
 */
export const insightGraphNodes = sqliteTable('insight_graph_nodes', {
  projectId: text('project_id').notNull(),
  taskId: text('task_id').notNull(),
  name: text('name').notNull(),
  status: text('status').notNull(),
  progress: real('progress').notNull(),
  estimatedHours: real('estimated_hours'),
  assignedAgentId: text('assigned_agent_id'),
  updatedAt: integer('updated_at').notNull(),
  /** The task ids it depends on (JSON array). */
  dependsOn: text('depends_on').notNull(),
}, t => [primaryKey({ columns: [t.projectId, t.taskId] })])
