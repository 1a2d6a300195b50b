/**
 * Runtime configuration from the environment (ARCHITECTURE §9). Read once; everything
 * else asks here instead of reading process.env.
 */
import { resolve } from 'node:path'

function int(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${raw}"`)
  return n
}

export type SenecaConfig = ReturnType<typeof readConfig>

export function readConfig() {
  return {
    dataDir: resolve(process.env.SENECA_DATA_DIR || './data'),
    marcusRoot: process.env.MARCUS_ROOT || undefined,
    marcusLogDir: process.env.MARCUS_LOG_DIR || undefined,
    marcusMcpUrl: process.env.MARCUS_MCP_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    /** How often the log tailer looks for new lines and files. */
    marcusPollMs: int('SENECA_MARCUS_POLL_MS', 250),
    /** A conversation with no message for this long is `idle` rather than `active`. */
    conversationIdleMs: int('SENECA_CONVERSATION_IDLE_MS', 15 * 60_000),
  }
}

let config: SenecaConfig | undefined

export function useConfig(): SenecaConfig {
  config ??= readConfig()
  return config
}
