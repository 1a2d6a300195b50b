/** Request schemas of the key and audit endpoints. */
import { z } from 'zod'
import { idParam, intParam, timeParam } from './query'

export const keyCreateBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(['admin', 'member', 'viewer', 'ingest']),
  /** Project ids, or ["*"] for every project. */
  projects: z.array(idParam).min(1).max(1000),
})

export const keyIdParams = z.object({ id: idParam })

export const auditQuery = z.object({
  limit: intParam('limit', 100, 1, 1000),
  /** Entries older than this sequence number (the previous page's `next_before_seq`). */
  before_seq: intParam('before_seq', Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER).optional(),
  principal: z.string().max(300).optional(),
  /** Prefix of the action (`POST /api/keys`, `auth.`, …). */
  action: z.string().max(300).optional(),
  project_id: idParam.optional(),
  result: z.enum(['success', 'failed', 'denied']).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
})
