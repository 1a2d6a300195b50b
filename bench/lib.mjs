/**
 * Shared helpers of the benchmarks: the server under test as a child process, free ports,
 * temp dirs, RSS, an autocannon wrapper with p95, a bare node:http baseline server,
 * CPU-profile summaries and the JSON report.
 *
 * Everything here talks to 127.0.0.1 only, and every loop is bounded in count and time.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

/** The built server to benchmark: SENECA_SERVER_ENTRY, else the repo's `.output`. */
export function serverEntry() {
  return resolve(process.env.SENECA_SERVER_ENTRY || join(repoRoot, '.output/server/index.mjs'))
}

// ---------------------------------------------------------------------------------------
// small utilities

export const sleep = ms => new Promise(r => setTimeout(r, ms))

export function log(...args) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`)
}

/** Integer from the environment, with a fallback; refuses garbage. */
export function envInt(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`)
  return Math.floor(n)
}

export function envNum(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`)
  return n
}

export const round = (n, digits = 1) => (n === null || n === undefined || !Number.isFinite(n) ? null : Math.round(n * 10 ** digits) / 10 ** digits)

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => ok(port))
    })
  })
}

const tempDirs = new Set()

/** A fresh directory under the OS temp dir, removed at exit unless `keep`. */
export function tempDir(prefix = 'seneca-bench-', { keep = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  if (!keep) tempDirs.add(dir)
  return dir
}

export function removeDir(dir) {
  tempDirs.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}

export function dirSizeMb(dir) {
  let total = 0
  const walk = (d, depth) => {
    if (depth > 8) return
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const st = statSync(p)
      if (st.isDirectory()) walk(p, depth + 1)
      else total += st.size
    }
  }
  if (existsSync(dir)) walk(dir, 0)
  return round(total / 1048576, 1)
}

/** VmRSS, VmHWM (peak), RssAnon and RssFile of a process, in MB, from /proc. */
export function rssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = key => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN)
    // RssFile holds file-backed pages, e.g. the database mapped by SQLite's mmap_size.
    return { rss_mb: round(kb('VmRSS') / 1024, 1), peak_rss_mb: round(kb('VmHWM') / 1024, 1), rss_anon_mb: round(kb('RssAnon') / 1024, 1), rss_file_mb: round(kb('RssFile') / 1024, 1) }
  }
  catch {
    return { rss_mb: null, peak_rss_mb: null, rss_anon_mb: null, rss_file_mb: null }
  }
}

/** Deterministic PRNG (mulberry32), so every run generates the same data. */
export function rng(seed = 42) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: arr => arr[Math.floor(next() * arr.length)],
    chance: p => next() < p,
  }
}

// ---------------------------------------------------------------------------------------
// child processes

const children = new Set()
function killChildren() {
  for (const c of children) {
    try {
      c.kill('SIGKILL')
    }
    catch { /* gone */ }
  }
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true })
    }
    catch { /* best effort */ }
  }
}
process.on('exit', killChildren)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killChildren()
    process.exit(130)
  })
}

/** Extra server environment from BENCH_SERVER_ENV (a JSON object), e.g. to relax rate limits. */
function extraServerEnv() {
  const raw = process.env.BENCH_SERVER_ENV
  if (!raw) return {}
  const parsed = JSON.parse(raw)
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('BENCH_SERVER_ENV must be a JSON object')
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]))
}

/** The secret the benchmarks give the server, so they can mint an admin token for it. */
export const jwtSecret = process.env.SENECA_JWT_SECRET || `bench-${randomBytes(24).toString('hex')}`

let tokenPromise
/**
 * Authorization header for the API: BENCH_TOKEN if given, else an HS256 admin JWT for
 * `jwtSecret` (ARCHITECTURE §9 claims). A server without auth ignores it.
 */
export async function authHeaders() {
  if (process.env.BENCH_TOKEN) return { authorization: `Bearer ${process.env.BENCH_TOKEN}` }
  tokenPromise ??= (async () => {
    try {
      const { SignJWT } = await import('jose')
      return await new SignJWT({ role: 'admin', projects: ['*'] })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('bench')
        .setIssuedAt()
        .setExpirationTime('4h')
        .sign(new TextEncoder().encode(jwtSecret))
    }
    catch {
      return null
    }
  })()
  const token = await tokenPromise
  return token ? { authorization: `Bearer ${token}` } : {}
}

/**
 * Starts the built server as an operator would: `node <entry>` with PORT, HOST=127.0.0.1 and
 * its own data dir. Waits until /health answers (200 or 503), at most `readyTimeoutMs`.
 * `onWait` is called while waiting (e.g. to poll progress); `nodeArgs` go before the entry
 * (e.g. `--cpu-prof`).
 */
export async function startServer({ env = {}, dataDir, nodeArgs = [], readyTimeoutMs = 60_000, readyPath = '/health', quiet = false } = {}) {
  const entry = serverEntry()
  if (!existsSync(entry)) throw new Error(`server entry ${entry} not found: build first or set SENECA_SERVER_ENTRY`)
  const port = await freePort()
  dataDir ??= tempDir('seneca-bench-data-')
  mkdirSync(dataDir, { recursive: true })
  const cwd = tempDir('seneca-bench-cwd-')
  let output = ''
  const spawnedAt = performance.now()
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    cwd,
    env: {
      ...process.env,
      MARCUS_ROOT: '',
      MARCUS_LOG_DIR: '',
      MARCUS_MCP_URL: '',
      SENECA_JWT_SECRET: jwtSecret,
      // One principal sending thousands of requests a second: the default rate limits would refuse
      // nearly all of them. bench/gateway.mjs measures the limits on purpose; BENCH_SERVER_ENV may too.
      SENECA_RATE_LIMITS: 'off',
      ...extraServerEnv(),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      SENECA_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  const keep = (d) => {
    output += d.toString()
    if (output.length > 200_000) output = output.slice(-100_000)
    if (!quiet && process.env.BENCH_VERBOSE) process.stderr.write(d)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise(r => child.once('exit', (code, signal) => r({ code, signal })))
  child.once('exit', () => children.delete(child))

  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + readyTimeoutMs
  let readyAt
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output.slice(-4000)}`)
    try {
      const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(Math.ceil(Math.max(1000, Math.min(600_000, deadline - Date.now())))) })
      await res.arrayBuffer()
      if (res.status === 200 || res.status === 503) {
        readyAt = performance.now()
        break
      }
    }
    catch { /* not listening yet */ }
    await sleep(50)
  }
  if (readyAt === undefined) {
    child.kill('SIGKILL')
    throw new Error(`server did not answer ${readyPath} within ${readyTimeoutMs} ms:\n${output.slice(-4000)}`)
  }

  return {
    url,
    port,
    pid: child.pid,
    dataDir,
    child,
    spawnedAt,
    readyAt,
    startupMs: readyAt - spawnedAt,
    output: () => output,
    rss: () => rssMb(child.pid),
    /** SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        child.kill('SIGTERM')
        await exited
        clearTimeout(timer)
      }
      tempDirs.delete(cwd)
      rmSync(cwd, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------------------------------
// HTTP clients

const agents = new Map()
function agentFor(maxSockets) {
  if (!agents.has(maxSockets)) agents.set(maxSockets, new http.Agent({ keepAlive: true, maxSockets }))
  return agents.get(maxSockets)
}

/** POSTs a prepared JSON body (string or Buffer) with node:http keep-alive; resolves {status, text}. */
export function postJson(url, body, { headers = {}, maxSockets = 8, timeoutMs = 120_000 } = {}) {
  return new Promise((ok, fail) => {
    const u = new URL(url)
    const buf = typeof body === 'string' ? Buffer.from(body) : body
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', agent: agentFor(maxSockets),
      headers: { 'content-type': 'application/json', 'content-length': buf.length, ...headers },
      timeout: timeoutMs,
    }, (res) => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => ok({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', fail)
    })
    req.on('timeout', () => req.destroy(new Error(`POST ${u.pathname} timed out after ${timeoutMs} ms`)))
    req.on('error', fail)
    req.end(buf)
  })
}

/** GET returning {status, body (parsed JSON or text), ms}; never throws on HTTP errors. */
export async function getJson(url, { headers = {}, timeoutMs = 30_000 } = {}) {
  const t0 = performance.now()
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(Math.ceil(timeoutMs)) })
  const text = await res.text()
  let body = text
  try {
    body = JSON.parse(text)
  }
  catch { /* not JSON */ }
  return { status: res.status, body, ms: performance.now() - t0 }
}

/**
 * Sends `bodies` (prepared JSON strings/Buffers, or a function index → body) to `url` with at most
 * `concurrency` requests in flight, sending no new request after `timeoutMs`. Returns timing and
 * the parsed responses' stored/rejected counts.
 */
export async function postAll(url, count, bodyAt, { concurrency = 3, headers = {}, onProgress, timeoutMs = 1_800_000 } = {}) {
  const deadline = performance.now() + timeoutMs
  let timedOut = false
  let next = 0
  let stored = 0
  let duplicates = 0
  let rejected = 0
  let firstError
  const statuses = {}
  const worker = async () => {
    while (next < count) {
      if (performance.now() > deadline) {
        timedOut = true
        return
      }
      const i = next++
      const res = await postJson(url, bodyAt(i), { headers, maxSockets: concurrency })
      statuses[res.status] = (statuses[res.status] ?? 0) + 1
      if (res.status !== 200 && res.status !== 207) {
        firstError ??= `HTTP ${res.status}: ${res.text.slice(0, 500)}`
        continue
      }
      const body = JSON.parse(res.text)
      stored += body.stored ?? 0
      duplicates += body.duplicates ?? 0
      rejected += body.rejected ?? 0
      if (body.rejected && !firstError) firstError = JSON.stringify(body.results.find(r => r.status === 'rejected'))
      onProgress?.(i)
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker))
  return { ms: performance.now() - t0, stored, duplicates, rejected, statuses, firstError, timedOut }
}

// ---------------------------------------------------------------------------------------
// load generation (autocannon) and a bare node:http baseline

const autocannon = require('autocannon')

const hdr = createRequire(require.resolve('autocannon'))('hdr-histogram-js')

/**
 * Runs autocannon against one path (or rotating `paths`, or `pathAt(i)` for the i-th request)
 * and returns req/s and latency percentiles (p50/p90/p95/p99, ms; 2xx responses only, like autocannon itself).
 * `warmupS` seconds are run first and discarded.
 */
export async function load({ url, path, paths, pathAt, connections = 50, durationS = 10, warmupS = 1, headers = {}, title } = {}) {
  let i = 0
  const nextPath = pathAt ?? (paths?.length ? n => paths[n % paths.length] : undefined)
  const once = durationS => new Promise((ok, fail) => {
    const requests = nextPath
      ? [{ method: 'GET', setupRequest: req => Object.assign(req, { path: nextPath(i++) }) }]
      : undefined
    const inst = autocannon({
      url: url + (path ?? (nextPath ? nextPath(0) : '/')),
      connections,
      duration: durationS,
      headers,
      requests,
      skipAggregateResult: true,
      timeout: 30,
    }, (err, raw) => (err ? fail(err) : ok(raw)))
    inst.on('error', fail)
  })
  if (warmupS > 0) await once(warmupS)
  const raw = await once(durationS)
  const hist = hdr.decodeFromCompressedBase64(raw.latencies)
  const pct = p => (hist.totalCount ? hist.getValueAtPercentile(p) : null)
  const seconds = raw.duration || durationS
  const out = {
    title: title ?? path ?? (nextPath ? nextPath(0) : undefined),
    connections,
    duration_s: seconds,
    requests: raw.totalCompletedRequests,
    requests_per_s: round(raw.totalCompletedRequests / seconds, 0),
    latency_ms: { p50: pct(50), p90: pct(90), p95: pct(95), p99: pct(99), max: hist.totalCount ? hist.maxValue : null, mean: round(hist.mean, 2) },
    errors: raw.errors,
    timeouts: raw.timeouts,
    non_2xx: raw.non2xx,
    status_codes: Object.fromEntries(Object.entries(raw.statusCodeStats).map(([k, v]) => [k, v.count])),
  }
  hist.destroy?.()
  return out
}

/**
 * Starts a bare `node:http` server in a child process (so it does not share the event loop
 * with autocannon) answering every request with a small JSON body.
 */
export async function startBareHttp() {
  const port = await freePort()
  const code = `
    const http = require('node:http')
    const body = JSON.stringify({ status: 'ok', connectors: [], timestamp: '2026-01-01T00:00:00.000Z' })
    http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    }).listen(${port}, '127.0.0.1')
  `
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' })
  children.add(child)
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url + '/')
      await res.text()
      break
    }
    catch {
      await sleep(50)
    }
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      const gone = new Promise(r => child.once('exit', r))
      child.kill('SIGTERM')
      await gone
      children.delete(child)
    },
  }
}

// ---------------------------------------------------------------------------------------
// CPU profiles (`node --cpu-prof`) of the server

export function cpuProfArgs(dir) {
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`]
}

/**
 * Summarises the .cpuprofile files in `dir`: self time per function (top `top`) and per
 * source package (project code, each node_modules package, node internals, native/GC).
 * Locations in the server bundle are mapped back to their source files through the
 * bundle's source maps (`<chunk>.mjs.map`), when present.
 */
export function summariseCpuProfiles(dir, top = 25, entry = serverEntry()) {
  const files = existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.cpuprofile')) : []
  if (!files.length) return null
  const resolver = bundleResolver(entry)
  const byFn = new Map()
  const bySource = new Map()
  const byLine = new Map()
  let totalUs = 0
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8'))
    const nodes = new Map(prof.nodes.map(n => [n.id, n]))
    const self = new Map()
    for (let i = 0; i < prof.samples.length; i++) {
      const dt = prof.timeDeltas[i] ?? 0
      self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt)
    }
    for (const [id, us] of self) {
      const n = nodes.get(id)
      if (!n) continue
      totalUs += us
      const cf = n.callFrame
      const url = (cf.url || '').replace(/^file:\/\//, '')
      const name = cf.functionName || (url ? '(anonymous)' : '(native)')
      const original = url ? resolver(url, cf.lineNumber) : null
      const location = original ?? `${shortUrl(url)}:${cf.lineNumber + 1}`
      const source = sourceOf(original ?? url, name)
      const key = `${name} ${location}`
      const entry = byFn.get(key) ?? { function: name, location, source, self_ms: 0 }
      entry.self_ms += us / 1000
      byFn.set(key, entry)
      bySource.set(source, (bySource.get(source) ?? 0) + us / 1000)
      if (url && !url.startsWith('node:') && n.positionTicks?.length) {
        const ticks = n.positionTicks.reduce((s, t) => s + t.ticks, 0)
        for (const t of n.positionTicks) {
          const at = resolver(url, t.line - 1) ?? `${shortUrl(url)}:${t.line}`
          const line = byLine.get(at) ?? { location: at, function: name, self_ms: 0, code: generatedLine(url, t.line - 1) }
          line.self_ms += (us / 1000) * (t.ticks / ticks)
          byLine.set(at, line)
        }
      }
    }
  }
  const totalMs = totalUs / 1000
  const busyMs = totalMs - (bySource.get('(idle)') ?? 0)
  const pct = ms => round((100 * ms) / totalMs, 1)
  return {
    files: files.length,
    total_ms: round(totalMs, 0),
    busy_ms: round(busyMs, 0),
    by_source: [...bySource.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([source, ms]) => ({ source, self_ms: round(ms, 0), pct: pct(ms) })),
    top_functions: [...byFn.values()].sort((a, b) => b.self_ms - a.self_ms).slice(0, top).map(e => ({ ...e, self_ms: round(e.self_ms, 0), pct: pct(e.self_ms) })),
    /** Self time per source line (native calls such as a statement's run() are charged to the line that made them). */
    hot_lines: [...byLine.values()].sort((a, b) => b.self_ms - a.self_ms).slice(0, top)
      .map(e => ({ ...e, self_ms: round(e.self_ms, 0), pct: pct(e.self_ms) })),
  }
}

const fileLines = new Map()
/** The code that ran: line `line` (0-based) of the loaded file, trimmed, for reports. */
function generatedLine(path, line) {
  if (!fileLines.has(path)) {
    try {
      fileLines.set(path, readFileSync(path, 'utf8').split('\n'))
    }
    catch {
      fileLines.set(path, [])
    }
  }
  return fileLines.get(path)[line]?.trim().slice(0, 160) ?? null
}

function shortUrl(url) {
  return url.replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/server\/chunks\//, 'chunks/').replace(/^.*\/server\/index\.mjs/, 'server/index.mjs')
}

function sourceOf(path, name) {
  if (!path) {
    if (name === '(garbage collector)') return 'gc'
    if (name === '(idle)' || name === '(program)' || name === '(root)') return name
    return 'native code without a JS frame (fs calls, builtins)'
  }
  if (path.startsWith('node:')) return 'node internals'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (m) return `node_modules/${m[1]}`
  const own = /^(server|shared|drizzle)\/[^:]+/.exec(path)
  if (own) return own[0]
  if (/\/server\/(chunks|index\.mjs)/.test(path)) return 'server bundle (unmapped)'
  return 'other'
}

/** (bundle file url, 0-based line) → `source/path:line` through the chunk's source map. */
function bundleResolver(entry) {
  const serverDir = dirname(entry)
  const maps = new Map()
  return (path, line) => {
    if (!path.startsWith(serverDir)) return null
    if (!maps.has(path)) maps.set(path, decodeMap(path))
    const m = maps.get(path)
    const hit = m?.lines[line]
    return hit ? `${m.sources[hit[0]]}:${hit[1] + 1}` : null
  }
}

/** Decodes a v3 source map into, per generated line, the first mapped [source, line]. */
function decodeMap(file) {
  let map
  try {
    map = JSON.parse(readFileSync(`${file}.map`, 'utf8'))
  }
  catch {
    return null
  }
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const lines = []
  let src = 0
  let srcLine = 0
  for (const text of map.mappings.split(';')) {
    let first = null
    for (const seg of text.split(',')) {
      if (!seg) continue
      const vals = []
      let v = 0
      let shift = 0
      for (const ch of seg) {
        let d = chars.indexOf(ch)
        const cont = d & 32
        d &= 31
        v += d << shift
        if (cont) shift += 5
        else {
          vals.push(v & 1 ? -(v >>> 1) : v >>> 1)
          v = 0
          shift = 0
        }
      }
      if (vals.length >= 4) {
        src += vals[1]
        srcLine += vals[2]
        first ??= [src, srcLine]
      }
    }
    lines.push(first)
  }
  const sources = map.sources.map(s => s.replace(/^(\.\.\/)+/, '').replace(/^.*node_modules\//, 'node_modules/'))
  return { lines, sources }
}

// ---------------------------------------------------------------------------------------
// misc

/**
 * A short hash of the server's migrations, to key cached data dirs by schema. (Data written by
 * an older build of the same schema is reused, as an upgraded deployment would.)
 */
export function schemaKey(entry = serverEntry()) {
  const h = createHash('sha1')
  const dir = join(dirname(entry), 'migrations')
  try {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.sql')) h.update(readFileSync(join(dir, f)))
    }
  }
  catch {
    h.update('no-migrations')
  }
  return h.digest('hex').slice(0, 10)
}

/** Prints the report as one JSON object on stdout. */
export function report(obj) {
  process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`)
}

export function machine() {
  return {
    node: process.version,
    /** Other work on the machine skews every figure: 1-minute load average when the report was written. */
    loadavg_1m: round(loadavg()[0], 2),
    cpus: (() => {
      try {
        return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter(l => l.startsWith('processor')).length
      }
      catch {
        return null
      }
    })(),
    server_entry: serverEntry(),
  }
}

// ---------------------------------------------------------------------------------------
// realistic `message` events (ingest and reads benchmarks)

/** A word in about `rareRate` of the generated messages (0.1% by default), for search. */
export const RARE_WORD = 'quokkaflux'

const VOCAB = (`the a to of and in for on with is that this it be as at by from we will should
  task agent worker marcus board project deploy build test tests unit integration failing passing
  schema migration database index query cursor page endpoint route handler request response error
  retry timeout latency cache redis sqlite postgres table column row batch queue worker lease
  assign assigned assignment progress blocker blocked resolved review reviewer merge branch commit
  pull pipeline ci lint typecheck coverage fixture mock stub server client api auth token jwt key
  session websocket frame event stream log logs metric metrics alert budget cost model tokens prompt
  context window summary plan step steps next done complete completed started starting pending
  frontend backend component page layout form button modal table chart filter search sort paginate
  user users login signup password email profile settings admin role roles permission scope
  dependency dependencies artifact artifacts decision decisions rationale confidence option options
  config env variable flag feature release version upgrade downgrade rollback hotfix patch bug fix
  refactor cleanup rename extract inline move split join parse serialize validate sanitize escape
  memory cpu disk network file files folder path read write append flush sync async await promise
  report reported reporting estimate estimated hours minutes seconds today tomorrow soon later now
  please check confirm verify investigate found noticed seems looks likely unlikely maybe still
  first second third last again also only just already before after while during until because
  however therefore instead otherwise although unless since whether either neither both each every
  `).split(/\s+/).filter(Boolean)
const SENDER_POOL = ['marcus', 'reviewer-01', 'planner-01']
const MODELS = ['claude-sonnet-4', 'claude-haiku-4', 'gpt-4.1', 'gpt-4.1-mini']
const TYPES = ['message', 'message', 'request', 'response', 'status']

/**
 * Returns `at(i)`: the i-th `message` event of a deterministic stream spread over
 * `conversations` conversations (each between one worker agent, Marcus and sometimes a
 * second participant), 100–300 characters of content, metadata, increasing timestamps.
 * Calling at(i) for the same i gives the same event.
 */
export function messageFactory({ conversations = 200, agents = Math.max(4, Math.min(500, Math.ceil(conversations / 100))), projects = 8, startTs = Date.UTC(2026, 2, 1), stepMs = 250, rareRate = 0.001, errorRate = 0.01, idPrefix = 'bm' } = {}) {
  return (i) => {
    const r = rng(i * 2654435761 + 7)
    const c = r.int(0, conversations - 1)
    const agent = `agent-${String(c % agents).padStart(3, '0')}`
    const other = c % 5 === 0 ? SENDER_POOL[1 + (c % 2)] : SENDER_POOL[0]
    const fromAgent = r.chance(0.5)
    const target = r.int(100, 300)
    let content = ''
    while (content.length < target) content += (content ? ' ' : '') + r.pick(VOCAB)
    if (r.chance(rareRate)) content = `${RARE_WORD} ${content}`
    content = content.slice(0, 300)
    const isError = r.chance(errorRate)
    return {
      kind: 'message',
      message_id: `${idPrefix}-${i}`,
      project_id: `proj-${c % projects}`,
      conversation_id: `conv-${c}`,
      conversation_type: 'worker',
      conversation_title: `Marcus ↔ ${agent} (thread ${c})`,
      agent_id: agent,
      sender: fromAgent ? agent : other,
      recipient: fromAgent ? other : agent,
      content,
      message_type: isError ? 'error' : r.pick(TYPES),
      ts: startTs + i * stepMs + r.int(0, stepMs - 1),
      metadata: {
        task_id: `task-${c % 5000}`,
        model: r.pick(MODELS),
        tokens: r.int(50, 4000),
        latency_ms: r.int(20, 9000),
        ...(r.chance(0.2) ? { tool: r.pick(['request_next_task', 'report_task_progress', 'get_task_context', 'log_decision']) } : {}),
      },
    }
  }
}

/** JSON body `{"events":[at(from) … at(to-1)]}`. */
export function ingestBody(at, from, to) {
  const events = []
  for (let i = from; i < to; i++) events.push(at(i))
  return JSON.stringify({ events })
}

/** Deletes a benchmark's Redis keys (`<prefix>:*`) without blocking Redis (SCAN + UNLINK). */
export async function deleteRedisKeys(url, prefix) {
  const { Redis } = require('ioredis')
  const client = new Redis(url, { connectTimeout: 1000, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) await client.unlink(...keys)
    } while (cursor !== '0')
  }
  finally {
    client.disconnect()
  }
}
