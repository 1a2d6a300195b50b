/**
 * Request and response schemas of the insight modules: memory (`/api/memory/…`), patterns
 * and predictions (`/api/patterns/…`) and context (`/api/context/…`). The handlers validate
 * with the request schemas; the API registry documents and the API tests parse real answers
 * with the response schemas.
 */
import { z } from 'zod'
import { taskStatuses } from './events'
import { knowledgeNodeTypes } from './knowledge'
import { idParam, intParam, timeParam } from './query'

/** A query-string decimal within bounds. */
function numberParam(name: string, min: number, max: number) {
  return z.string()
    .regex(/^\d{1,9}(\.\d{1,6})?$/, `${name} must be a non-negative number`)
    .transform(Number)
    .pipe(z.number().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))
}

export { knowledgeNodeTypes }
export const patternTypes = ['recurring_blocker', 'label_duration', 'best_agent', 'peak_hours', 'stall', 'loop'] as const

// ---------------------------------------------------------------------------------------
// Requests

export const insightAgentParams = z.object({ id: idParam })
export const insightTaskParams = z.object({ id: idParam })
export const insightProjectParams = z.object({ project_id: idParam })

export const memoryAgentsQuery = z.object({ project_id: idParam.optional() })

export const memoryHistoryQuery = z.object({
  project_id: idParam.optional(),
  limit: intParam('limit', 50, 1, 500),
  /** `next_cursor` of the previous page. */
  cursor: z.string().max(64).optional(),
})

export const learningCurveQuery = z.object({
  project_id: idParam.optional(),
  /** The latest weeks to show. */
  weeks: intParam('weeks', 12, 1, 104),
})

export const blockerInsightsQuery = z.object({
  project_id: idParam.optional(),
  limit: intParam('limit', 20, 1, 200),
  /** Open blockers count their delay up to this time (default: the latest work event). */
  as_of: timeParam.optional(),
})

export const knowledgeGraphQuery = z.object({
  project_id: idParam.optional(),
  agent_id: idParam.optional(),
  /** Comma-separated: project, agent, task, decision, artifact (default: all). */
  node_types: z.string().max(200)
    .transform(s => s.split(',').map(x => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(knowledgeNodeTypes)).min(1, 'node_types names at least one type'))
    .optional(),
  limit: intParam('limit', 300, 1, 2000),
})

export const patternQuery = z.object({
  project_id: idParam.optional(),
  type: z.enum(patternTypes).optional(),
  /** A task is stalled after this many times the usual interval between its agent's reports. */
  stall_factor: numberParam('stall_factor', 1, 1000).default(3),
  /** Occurrences that make a blocker recurring. */
  min_occurrences: intParam('min_occurrences', 2, 2, 100_000),
  /** Judge stalls and open blockers at this time (default: the latest work event). */
  as_of: timeParam.optional(),
  limit: intParam('limit', 50, 1, 500),
})

export const completionQuery = z.object({ as_of: timeParam.optional() })

export const cascadeQuery = z.object({
  task_id: idParam,
  delay_hours: numberParam('delay_hours', 0, 100_000),
})

export const contextGraphQuery = z.object({
  limit: intParam('limit', 500, 1, 5000),
  status: z.enum(taskStatuses).optional(),
})

export const impactQuery = z.object({
  /** `delay`: the task takes delay_hours longer; `failure`: it is redone from scratch. */
  mode: z.enum(['delay', 'failure']).default('delay'),
  delay_hours: numberParam('delay_hours', 0, 100_000).optional(),
})

export const crossProjectQuery = z.object({
  project_id: idParam.optional(),
  limit: intParam('limit', 100, 1, 1000),
})

// ---------------------------------------------------------------------------------------
// Responses

const isoTime = z.string()
const nullableIso = isoTime.nullable()
const ratio = z.number().nullable()
const freshness = z.object({ events_behind: z.number().int().describe('Events not yet applied to the rollups (0: current).') })
const interval = z.object({ low: z.number(), high: z.number() }).nullable()

const workCounts = {
  tasks: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  blocked: z.number().int(),
  handed_off: z.number().int(),
  open: z.number().int(),
  success_rate: ratio,
  blocked_rate: ratio,
}

const estimationAccuracy = z.object({
  tasks_measured: z.number().int(),
  estimated_hours: z.number(),
  actual_hours: z.number(),
  estimate_ratio: ratio,
  mean_absolute_percentage_error: ratio,
  accuracy: ratio,
})

export const memoryAgentsResponse = z.object({
  agents: z.array(z.object({
    agent_id: z.string(), name: z.string(), type: z.string().nullable(), projects: z.number().int(),
    ...workCounts,
    estimation_accuracy: estimationAccuracy,
  })),
  total: z.number().int(),
  method: z.string(),
  freshness,
})

const trendHalf = z.object({ tasks: z.number().int(), success_rate: ratio, accuracy: ratio })

export const agentProfileResponse = z.object({
  agent_id: z.string(),
  name: z.string(),
  type: z.string().nullable(),
  capabilities: z.array(z.string()),
  projects: z.array(z.string()),
  ...workCounts,
  estimation_accuracy: estimationAccuracy,
  usual_report_interval_hours: ratio,
  skills: z.array(z.object({ label: z.string(), ...workCounts, mean_actual_hours: ratio, estimate_ratio: ratio })),
  capability_success: z.array(z.object({ capability: z.string(), tasks: z.number().int(), success_rate: ratio })),
  common_blockers: z.array(z.object({ key: z.string(), description: z.string(), occurrences_by_agent: z.number().int(), occurrences_total: z.number().int() })),
  trend: z.object({ direction: z.enum(['improving', 'declining', 'stable', 'insufficient_data']), earlier: trendHalf, recent: trendHalf }),
  evidence: z.object({ recent_finished_task_ids: z.array(z.string()), label_keys: z.number().int() }),
  method: z.string(),
  freshness,
})

export const agentHistoryResponse = z.object({
  agent_id: z.string(),
  history: z.array(z.object({
    seq: z.number().int(), task_id: z.string(), task_name: z.string().nullable(), project_id: z.string(), action: z.string(),
    status: z.string().nullable(), progress: z.number().nullable(), note: z.string().nullable(), timestamp: isoTime,
  })),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
})

export const learningCurveResponse = z.object({
  agent_id: z.string(),
  weeks: z.array(z.object({
    week_start: isoTime, finished: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), blocked: z.number().int(),
    success_rate: ratio, accuracy: ratio, estimate_ratio: ratio, tasks_measured: z.number().int(),
    cumulative_success_rate: ratio, cumulative_accuracy: ratio,
  })),
  summary: z.object({ weeks: z.number().int(), accuracy_slope_per_week: ratio, success_rate_slope_per_week: ratio, confidence: z.number() }),
  method: z.string(),
  freshness,
})

export const blockerInsightsResponse = z.object({
  as_of: isoTime,
  totals: z.object({ blockers: z.number().int(), resolved: z.number().int(), open: z.number().int(), groups: z.number().int(), delay_hours: z.number() }),
  blockers: z.array(z.object({
    key: z.string(), project_id: z.string(), description: z.string(), occurrences: z.number().int(), resolved: z.number().int(), open: z.number().int(),
    delay_hours: z.number(), mean_resolution_hours: ratio, first_reported_at: nullableIso, last_reported_at: nullableIso,
    agents_affected: z.array(z.object({ agent_id: z.string(), occurrences: z.number().int() })),
    evidence: z.object({ blocker_ids: z.array(z.string()), task_ids: z.array(z.string()) }),
  })),
  method: z.string(),
  freshness,
})

const typeCounts = z.object(Object.fromEntries(knowledgeNodeTypes.map(t => [t, z.number().int()])) as Record<(typeof knowledgeNodeTypes)[number], z.ZodNumber>)

export const knowledgeGraphResponse = z.object({
  nodes: z.array(z.object({
    id: z.string().describe('`<type>:<ref_id>`'), type: z.enum(knowledgeNodeTypes), ref_id: z.string(), label: z.string(), project_id: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()),
  })),
  edges: z.array(z.object({
    source: z.string(), target: z.string(),
    type: z.string().describe('belongs_to, member_of, worked_on, depends_on, about, made_by, produced_for, produced_by'),
  })),
  totals: typeCounts,
  shown: typeCounts,
  truncated: z.boolean(),
  filters: z.object({ project_id: z.string().nullable(), agent_id: z.string().nullable(), node_types: z.array(z.enum(knowledgeNodeTypes)), limit: z.number().int() }),
  freshness,
})

const pattern = z.object({
  id: z.string(), type: z.enum(patternTypes), project_id: z.string().nullable(), title: z.string(), description: z.string(),
  confidence: z.number(), evidence: z.record(z.string(), z.unknown()), method: z.string(),
})

export const patternListResponse = z.object({
  as_of: isoTime,
  patterns: z.array(pattern),
  counts: z.object(Object.fromEntries(patternTypes.map(t => [t, z.number().int()])) as Record<(typeof patternTypes)[number], z.ZodNumber>),
  parameters: z.object({ stall_factor: z.number(), min_occurrences: z.number().int(), loop_min_repeats: z.number().int(), loop_similarity: z.number() }),
  freshness,
})

export const completionPredictionResponse = z.object({
  project_id: z.string(),
  as_of: isoTime,
  prediction: z.object({
    expected_completion: nullableIso,
    expected_hours: ratio,
    interval: z.object({ level: z.number(), earliest: nullableIso, latest: nullableIso, low_hours: z.number(), high_hours: ratio }).nullable(),
    work_based_hours: ratio,
    confidence: z.number(),
  }),
  inputs: z.object({
    tasks_by_status: z.record(z.string(), z.number().int()),
    remaining_tasks: z.number().int(),
    remaining_estimated_hours: z.number(),
    completed_in_window: z.number().int(),
    completed_estimated_hours_in_window: z.number(),
    window_hours: z.number(),
    window_start: nullableIso,
    window_end: nullableIso,
    rate_per_hour: ratio,
  }),
  method: z.string(),
  freshness,
})

const outcome = z.object({
  similar_tasks: z.number().int(),
  finished: z.number().int(),
  success_probability: z.number(),
  success_interval: interval,
  blockage_probability: z.number(),
  blockage_interval: interval,
  estimate_ratio: ratio,
  expected_hours: ratio,
  confidence: z.number(),
})

export const taskPredictionResponse = z.object({
  task_id: z.string(),
  project_id: z.string(),
  status: z.string(),
  prediction: outcome.extend({ based_on: z.enum(['agent', 'all']) }),
  similar: z.object({ all_agents: outcome, assigned_agent: outcome.nullable() }),
  inputs: z.object({ label_keys: z.array(z.string()), assigned_agent_id: z.string().nullable(), estimated_hours: ratio, similar_task_ids: z.array(z.string()) }),
  method: z.string(),
  freshness,
})

const pathShape = z.object({ tasks: z.array(z.string()), hours: z.number() })

export const impactResponse = z.object({
  task_id: z.string(),
  project_id: z.string(),
  mode: z.enum(['delay', 'failure']),
  delay_hours: z.number(),
  inputs: z.object({
    status: z.string(), progress: z.number(), estimated_hours: ratio, fallback_estimate_hours: z.number(),
    remaining_hours_before: z.number(), remaining_hours_after: z.number(), project_tasks: z.number().int(), dependencies: z.number().int(),
  }),
  transitive_dependents: z.number().int(),
  affected_tasks: z.array(z.object({
    task_id: z.string(), name: z.string(), status: z.string(), assigned_agent_id: z.string().nullable(), delay_hours: z.number(), on_critical_path_after: z.boolean(),
  })),
  affected_agents: z.array(z.object({ agent_id: z.string(), tasks: z.array(z.string()), max_delay_hours: z.number() })),
  task_slack_hours: ratio,
  project_delay_hours: z.number(),
  critical_path: z.object({ before: pathShape, after: pathShape, moved: z.boolean(), task_on_path_before: z.boolean(), task_on_path_after: z.boolean() }),
  method: z.string(),
})

export const recommendationsResponse = z.object({
  as_of: isoTime,
  recommendations: z.array(z.object({
    id: z.string(), priority: z.enum(['high', 'medium', 'low']), action: z.string(), reason: z.string(), derived_from: z.array(z.string()),
    evidence: z.record(z.string(), z.unknown()),
  })),
  patterns_considered: patternListResponse.shape.counts,
  method: z.string(),
  freshness,
})

const taskBrief = z.object({ id: z.string(), name: z.string(), status: z.string(), progress: z.number(), assigned_agent_id: z.string().nullable() })

export const contextGraphResponse = z.object({
  project_id: z.string(),
  name: z.string(),
  nodes: z.array(z.object({
    id: z.string(), name: z.string(), status: z.string(), progress: z.number(), assigned_agent_id: z.string().nullable(),
    estimated_hours: ratio, remaining_hours: z.number(), earliest_start_hours: ratio, earliest_finish_hours: ratio, slack_hours: ratio,
    on_critical_path: z.boolean(),
    context: z.object({
      depends_on: z.array(z.string()),
      dependents: z.array(z.string()),
      decisions: z.array(z.object({ id: z.string(), decision: z.string(), agent_id: z.string().nullable(), confidence: ratio, timestamp: isoTime })),
      decision_count: z.number().int(),
      artifacts: z.array(z.object({ id: z.string(), name: z.string(), artifact_type: z.string().nullable(), location: z.string().nullable(), agent_id: z.string().nullable(), timestamp: isoTime })),
      artifact_count: z.number().int(),
    }),
  })),
  edges: z.array(z.object({ source: z.string().describe('the dependent task'), target: z.string().describe('the task it depends on'), type: z.literal('depends_on') })),
  critical_path: pathShape,
  cyclic_tasks: z.array(z.string()),
  total_tasks: z.number().int(),
  truncated: z.boolean(),
  method: z.string(),
})

export const taskContextResponse = z.object({
  task: taskBrief.extend({ project_id: z.string(), estimated_hours: ratio, remaining_hours: z.number() }),
  depends_on: z.array(taskBrief),
  dependents: z.array(taskBrief),
  transitive_dependents: z.number().int(),
  on_critical_path: z.boolean(),
  decisions: z.array(z.object({ id: z.string(), agent_id: z.string().nullable(), decision: z.string(), rationale: z.string().nullable(), confidence: ratio, timestamp: isoTime })),
  artifacts: z.array(z.object({
    id: z.string(), agent_id: z.string().nullable(), name: z.string(), artifact_type: z.string().nullable(), location: z.string().nullable(), description: z.string().nullable(), timestamp: isoTime,
  })),
  blockers: z.array(z.object({
    id: z.string(), agent_id: z.string().nullable(), severity: z.string(), description: z.string(), status: z.string(), reported_at: isoTime, resolved_at: nullableIso,
  })),
  agents: z.array(z.object({ agent_id: z.string(), first_seen: isoTime, last_seen: isoTime, events: z.number().int() })),
})

export const crossProjectResponse = z.object({
  project_id: z.string().nullable(),
  shared_agents: z.array(z.object({
    agent_id: z.string(), name: z.string(),
    projects: z.array(z.object({ project_id: z.string(), tasks: z.number().int(), succeeded: z.number().int() })),
  })),
  shared_artifacts: z.array(z.object({
    key: z.string(), name: z.string(),
    projects: z.array(z.object({ project_id: z.string(), artifact_ids: z.array(z.string()) })),
  })),
  project_links: z.array(z.object({ projects: z.tuple([z.string(), z.string()]), shared_agents: z.number().int(), shared_artifacts: z.number().int() })),
  method: z.string(),
  freshness,
})
