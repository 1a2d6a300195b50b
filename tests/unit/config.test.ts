import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, checkEnv, envSchema, readConfig } from '../../server/utils/config'
import { openDatabase } from '../../server/utils/db'

const repoRoot = resolve(import.meta.dirname, '../..')

describe('configuration from the environment', () => {
  it('has defaults for everything', () => {
    const config = readConfig({})
    expect(config.rateLimits).toEqual({ enabled: true, perMinute: 100, perHour: 1000, ingestEventsPerMinute: 600_000 })
    expect(config.retention).toMatchObject({ messagesMs: 0, eventsMs: 0, costEventsMs: 0 })
    expect(config.backupDir).toBe(`${config.dataDir}/backups`)
  })

  it('sizes the SQLite page cache', () => {
    expect(readConfig({}).sqliteCacheMb).toBe(96)
    const { sqlite } = openDatabase(':memory:', readConfig({ SENECA_SQLITE_CACHE_MB: '8' }).sqliteCacheMb)
    expect(sqlite.pragma('cache_size', { simple: true })).toBe(-8192)
    sqlite.close()
    expect(() => readConfig({ SENECA_SQLITE_CACHE_MB: '1' })).toThrow(ConfigError)
  })

  it('reads ages with units for retention', () => {
    const config = readConfig({ SENECA_RETENTION_MESSAGES: '90d', SENECA_RETENTION_EVENTS: '12h', SENECA_RETENTION_COST_EVENTS: 'off' })
    expect(config.retention).toMatchObject({ messagesMs: 90 * 86_400_000, eventsMs: 12 * 3_600_000, costEventsMs: 0 })
  })

  it('stops at a bad value with one line naming the variable and what it must be', () => {
    expect(() => readConfig({ SENECA_RATE_LIMIT_PER_MINUTE: 'lots' })).toThrow(new ConfigError('SENECA_RATE_LIMIT_PER_MINUTE', 'must be a whole number ≥ 1', 'lots'))
    expect(() => readConfig({ SENECA_LOG_LEVEL: 'loud' })).toThrow(/^SENECA_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)$/)
    expect(() => readConfig({ PORT: '70000' })).toThrow(/^PORT must be a whole number between 1 and 65535/)
    expect(() => readConfig({ SENECA_RETENTION_EVENTS: '30' })).toThrow(/SENECA_RETENTION_EVENTS must be off or an age with a unit/)
    expect(() => readConfig({ MARCUS_MCP_URL: 'localhost:4300' })).toThrow(/MARCUS_MCP_URL must be a URL/)
  })

  it('never echoes a secret in the reason', () => {
    const problems = checkEnv({ SENECA_JWT_SECRET: 'short', REDIS_URL: 'http://user:hunter2@host' })
    expect(problems).toHaveLength(2)
    expect(problems.join('\n')).not.toMatch(/short"|hunter2/)
  })

  it('lists every problem for doctor', () => {
    expect(checkEnv({ SENECA_GATEWAY: 'maybe', SENECA_WS_PING_MS: '-1' })).toEqual([
      'SENECA_GATEWAY must be one of on, off (got "maybe")',
      'SENECA_WS_PING_MS must be a whole number ≥ 0 (got "-1")',
    ])
  })

  it('covers every variable of ARCHITECTURE §9 and every one the server and the CLI read', () => {
    const known = new Set(Object.keys(envSchema.shape))
    for (const name of ['PORT', 'HOST', 'SENECA_DATA_DIR', 'SENECA_JWT_SECRET', 'MARCUS_ROOT', 'MARCUS_LOG_DIR', 'MARCUS_MCP_URL', 'REDIS_URL']) expect(known).toContain(name)
    // Set by the platform or only meaningful to the CLI process itself, not to the server.
    const notServer = new Set(['NODE_ENV', 'SENECA_BUILD_DIR', 'SENECA_OUTPUT_DIR', 'SENECA_URL', 'SENECA_TOKEN', 'SENECA_DEMO_INTERVAL_MS', 'NO_COLOR', 'TERM', 'NITRO_SHUTDOWN_DISABLED'])
    const read = new Set<string>()
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (/\.(ts|mjs)$/.test(entry.name)) {
          for (const m of readFileSync(path, 'utf8').matchAll(/process\.env\.([A-Z][A-Z0-9_]*)|process\.env\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) read.add(m[1] ?? m[2]!)
        }
      }
    }
    for (const dir of ['server', 'bin', 'shared']) walk(join(repoRoot, dir))
    expect([...read].filter(name => !known.has(name) && !notServer.has(name)).sort()).toEqual([])
  })
})
