/** Request schemas and response types of the Project Management API. */
import { z } from 'zod'
import { idParam, timeParam } from './query'

export const projectTemplateNames = ['web_app', 'mobile_app', 'api_service', 'data_pipeline'] as const

export const projectCreateBody = z.strictObject({
  /** Chosen id; generated from the name when omitted. */
  id: z.string().regex(/^[\w.-]{1,128}$/, 'id may hold letters, digits, _, . and - (at most 128)').optional(),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(10_000).optional(),
  template: z.enum(projectTemplateNames).optional(),
  configuration: z.record(z.string(), z.unknown()).optional(),
  team_requirements: z.record(z.string(), z.number().int().min(0).max(1000)).optional(),
  /** Delivery date (ISO-8601 or epoch ms); schedule risk is measured against it. */
  due_at: z.union([z.number().int().min(0), z.string().max(64)]).optional(),
  tags: z.array(z.string().max(100)).max(50).optional(),
})

export const qualityGates = z.strictObject({
  /** Minimum test coverage, 0..1. */
  coverage_threshold: z.number().min(0).max(1).optional(),
  /** Maximum cyclomatic complexity. */
  complexity_limit: z.number().int().min(1).max(1000).optional(),
  /** Require a clean security scan. */
  security_scan: z.boolean().optional(),
})

export const projectFeaturesBody = z.strictObject({
  features: z.strictObject({
    enable_ai_analysis: z.boolean().optional(),
    enable_auto_testing: z.boolean().optional(),
    enable_performance_monitoring: z.boolean().optional(),
    code_quality_gates: qualityGates.optional(),
  }),
})

export const projectListQuery = z.object({
  status: z.enum(['active', 'paused', 'completed', 'archived']).optional(),
})

export const projectParams = z.object({ project_id: idParam })
export const projectSinceQuery = z.object({ since: timeParam.optional() })

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical'
