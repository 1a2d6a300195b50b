/**
 * What every `seneca` command shares: exit codes, errors that carry one, colours that turn
 * themselves off when output is not a terminal (or NO_COLOR is set), where the app, its build
 * and its data directory are, and finding the server that runs on a data directory.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Exit codes (README "Operating Seneca"). */
export const EXIT = {
  OK: 0,
  /** The command ran and failed, or `doctor` found problems. */
  FAILED: 1,
  /** Wrong arguments: the usage is printed. */
  USAGE: 2,
  /** The server could not be reached, or refused the credentials. */
  UNREACHABLE: 3,
  /** `import` finished but some events were rejected. */
  PARTIAL: 4,
  /** Refused to protect data: a server runs on the data directory, or the target exists. */
  REFUSED: 5,
  /** A configuration variable has a bad value (the same reasons the server stops with). */
  CONFIG: 78,
}

export class CliError extends Error {
  constructor(message, code = EXIT.FAILED) {
    super(message)
    this.code = code
  }
}

export const usageError = message => new CliError(message, EXIT.USAGE)

export const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The built server; SENECA_OUTPUT_DIR points at another build folder (as for `nuxt build`). */
export function serverEntry() {
  const output = process.env.SENECA_OUTPUT_DIR ? resolve(process.env.SENECA_OUTPUT_DIR) : join(appRoot, '.output')
  return join(output, 'server/index.mjs')
}

export function dataDir() {
  return resolve(process.env.SENECA_DATA_DIR || './data')
}

export function databaseFile(dir = dataDir()) {
  return join(dir, 'seneca.db')
}

const colourOn = stream => !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb'

/** ANSI styling for one stream: `c.red('x')`; a no-op when the stream is not a terminal. */
export function palette(stream = process.stdout, force) {
  const on = force ?? colourOn(stream)
  const wrap = (open, close = 39) => text => (on ? `\u001B[${open}m${text}\u001B[${close}m` : String(text))
  return {
    on,
    bold: wrap(1, 22), dim: wrap(2, 22),
    red: wrap(31), green: wrap(32), yellow: wrap(33), blue: wrap(34), magenta: wrap(35), cyan: wrap(36), gray: wrap(90),
    brightRed: wrap(91), brightGreen: wrap(92), brightYellow: wrap(93), brightBlue: wrap(94), brightMagenta: wrap(95), brightCyan: wrap(96),
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  }
  catch (error) {
    return error.code === 'EPERM'
  }
}

/** Server processes announced in `<data dir>/run` whose pid is alive; stale files are removed. */
export function runningServers(dir = dataDir()) {
  const run = join(dir, 'run')
  if (!existsSync(run)) return []
  const servers = []
  for (const name of readdirSync(run)) {
    if (!/^server-\d+\.json$/.test(name)) continue
    const file = join(run, name)
    try {
      const info = JSON.parse(readFileSync(file, 'utf8'))
      if (alive(info.pid)) servers.push(info)
      else rmSync(file, { force: true })
    }
    catch { /* being written or removed right now */ }
  }
  return servers
}

/** The URL to reach a server announced in the run folder (loopback when it listens everywhere). */
export function serverUrl(info) {
  const host = !info.host || info.host === '0.0.0.0' || info.host === '::' ? '127.0.0.1' : info.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`
}

/** Seconds as `1.2 s` / `850 ms`. */
export function duration(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}
