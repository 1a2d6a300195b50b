/**
 * Rate limits for requests without a principal (ARCHITECTURE §5: by address when anonymous).
 * Runs before authentication. A request that carries no credential is counted against its
 * client address here. A credential that fails to authenticate is counted against the address
 * too (when its 401 goes out, server/plugins/02.observability.ts). Once the address has spent
 * its budget either way, a credential from it is checked here first: a bad one gets 429
 * instead of 401 until the window resets, a valid one (another user behind the same NAT)
 * passes, to be counted per principal after authentication (20.rate-limit.ts).
 */
export default defineEventHandler(async (event) => {
  const config = useConfig()
  if (!config.rateLimits.enabled || config.gatewayOff || event.method === 'OPTIONS') return
  const policyName = policyFor(event.method, event.path.split('?')[0]!)
  if (!policyName) return
  const policies = usePolicies()
  if (hasCredential(event)) {
    const wait = authBlockedFor(clientAddress(event))
    if (wait === 0) return
    // Only addresses that spent their budget on bad credentials pay for this second check.
    try {
      await authenticate(credentialOf(event))
      return
    }
    catch (error) {
      if (!(error instanceof AuthError)) throw error
    }
    const policy = policies.default!
    const window = policy.windows[0]!
    const decision = { allowed: false, policy, limit: window.points, windowSeconds: window.seconds, remaining: 0, resetSeconds: wait }
    setRateLimitHeaders(event, decision)
    throw rateLimited(event, decision)
  }
  // A budget priced by body size needs an authenticated sender: count the attempt as a request.
  const policy = policies[policyName]!.unit === 'events' ? policies.default! : policies[policyName]!
  const decision = await consume(policy, `ip:${clientAddress(event)}`)
  event.context.rateLimitCounted = true
  setRateLimitHeaders(event, decision)
  if (!decision.allowed) {
    blockAddress(clientAddress(event), decision.resetSeconds)
    throw rateLimited(event, decision)
  }
})
