/**
 * Announces this server process in `<data dir>/run/server-<pid>.json` ({pid, port, host,
 * started_at}), removed on close. The `seneca` CLI reads these to find the server of a data
 * directory (`import` sends to it) and to refuse what must not happen under a running server
 * (`restore`). One file per process, so the workers of a cluster each have theirs; a file
 * left by a killed process is recognised by its dead pid.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { useConfig } from '../utils/config'

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  const dir = join(config.dataDir, 'run')
  const file = join(dir, `server-${process.pid}.json`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, JSON.stringify({ pid: process.pid, port: config.port, host: config.host || '0.0.0.0', started_at: new Date().toISOString() }))
  const remove = () => rmSync(file, { force: true })
  nitroApp.hooks.hook('close', remove)
  process.once('exit', remove)
})
