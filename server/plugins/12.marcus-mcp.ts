/**
 * Starts the Marcus MCP connector when MARCUS_MCP_URL is set: authenticate as an observer,
 * poll agents/project/metrics, forward commands. Reports itself in /health as `marcus`
 * (`connected`, or `disconnected` / `circuit_open`, which make the server degraded) and the
 * realtime mode as `mode` (`live` while connected, `historical` otherwise). With several
 * processes only the leader connects (server/utils/cluster.ts); the others report its state.
 */
import { marcusMcpConnector, startMarcusMcpConnector, stopMarcusMcpConnector } from '../marcus/mcp'
import { leaderHealth, runAsLeader } from '../utils/cluster'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  if (!config.marcusMcpUrl) return
  const stop = runAsLeader('marcus mcp connector', () => {
    startMarcusMcpConnector({ url: config.marcusMcpUrl!, ...config.marcusMcp })
    return () => stopMarcusMcpConnector()
  })
  registerHealthCheck('marcus', leaderHealth('marcus', () => {
    const state = marcusMcpConnector()?.state() ?? 'disconnected'
    return { state, status: state === 'connected' ? 'healthy' : 'degraded' }
  }))
  registerHealthCheck('mode', () => realtimeMode())
  nitroApp.hooks.hook('close', () => stop())
})
