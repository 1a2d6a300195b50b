/**
 * Rate limits per principal (server/utils/ratelimit.ts has the policies and the per-route
 * overrides): every limited response carries RateLimit-Limit/Remaining/Reset, a refusal is
 * 429 RATE_LIMITED with Retry-After. Ingest is priced in events: the budget is checked here
 * (nothing left: 429 before the body is read) and charged when readJsonBody has parsed the
 * body, through `event.context.bodyPricer`.
 */
import type { BodyPricer } from '../utils/ratelimit'

export default defineEventHandler(async (event) => {
  const config = useConfig()
  if (!config.rateLimits.enabled || config.gatewayOff || event.context.rateLimitCounted || event.method === 'OPTIONS') return
  const policyName = policyFor(event.method, event.path.split('?')[0]!)
  if (!policyName) return
  const policy = usePolicies()[policyName]!
  const key = rateLimitKey(event)
  if (policy.unit === 'requests') {
    const decision = await consume(policy, key)
    setRateLimitHeaders(event, decision)
    if (!decision.allowed) throw rateLimited(event, decision)
    return
  }
  const before = await peek(policy, key)
  setRateLimitHeaders(event, before)
  if (!before.allowed) throw rateLimited(event, before)
  const pricer: BodyPricer = async (body) => {
    const cost = ingestCost(body)
    const decision = await consume(policy, key, cost)
    setRateLimitHeaders(event, decision)
    if (!decision.allowed) throw rateLimited(event, decision, cost)
  }
  event.context.bodyPricer = pricer
})
