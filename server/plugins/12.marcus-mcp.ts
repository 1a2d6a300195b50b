/**
 * Starts the Marcus MCP connector when MARCUS_MCP_URL is set: authenticate as an observer,
 * poll agents/project/metrics, forward commands. Reports itself in /health as `marcus`
 * (`connected`, or `disconnected` / `circuit_open`, which make the server degraded) and the
 * realtime mode as `mode` (`live` while connected, `historical` otherwise).
 */
import { marcusMcpConnector, startMarcusMcpConnector, stopMarcusMcpConnector } from '../marcus/mcp'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  if (!config.marcusMcpUrl) return
  startMarcusMcpConnector({ url: config.marcusMcpUrl, ...config.marcusMcp })
  registerHealthCheck('marcus', () => {
    const state = marcusMcpConnector()?.state() ?? 'disconnected'
    return { state, status: state === 'connected' ? 'healthy' : 'degraded' }
  })
  registerHealthCheck('mode', () => realtimeMode())
  nitroApp.hooks.hook('close', async () => {
    await stopMarcusMcpConnector()
  })
})
