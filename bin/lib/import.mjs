/**
 * `seneca import <path>`: a JSONL file of events (one JSON event per line, as in
 * POST /api/ingest) or a Marcus root, through the ingest path.
 *
 * Where the events go: `--url` (or SENECA_URL) names a running server, which gets them with
 * POST /api/ingest in batches; otherwise the server running on $SENECA_DATA_DIR, if any; and if
 * none runs there, a private server is started on the data directory for the import. A Marcus
 * root is read by the Marcus log connector of such a private server (the same reading as
 * MARCUS_ROOT), so it needs the data directory and no other server on it.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { CliError, EXIT, dataDir, duration, palette, runningServers, serverUrl, usageError } from './common.mjs'
import { startPrivateServer } from './private-server.mjs'
import { request, resolveToken } from './remote.mjs'

export const help = `Usage: seneca import <file.jsonl | - | marcus-root> [options]

Import events through the ingest path, with a progress bar (on a terminal) and a summary.

  <file.jsonl>   one event per line, each as POST /api/ingest takes it ({"kind": …}); "-" reads stdin
  <marcus-root>  a Marcus checkout (with logs/), its logs/ folder, or a logs/conversations folder:
                 read by the Marcus log connector, as with MARCUS_ROOT

Options:
      --url <url>          send to this running server (default: $SENECA_URL, else the server
                           running on $SENECA_DATA_DIR, else a private server on it)
      --token <token>      JWT or API key with the ingest role (default: $SENECA_TOKEN, or a
                           token minted with the data directory's secret)
      --project <id>       project of events that name none
      --batch <n>          events per request (default 1000, at most 5000)
      --json               print the summary as JSON
      --no-progress        no progress bar
  -h, --help               show this help

Exit codes: 0 every event stored or already there (duplicate); 4 some events rejected (the first
ones are listed); 1 the import failed; 2 bad arguments; 3 the server cannot be reached or refused
the credential; 5 a Marcus root while a server runs on the data directory.`

const MAX_BATCH_BYTES = 4 * 1024 * 1024

function progressBar(enabled) {
  const c = palette(process.stderr)
  let last = 0
  return {
    update(done, total, counts, force = false) {
      if (!enabled) return
      const now = Date.now()
      if (!force && now - last < 100) return
      last = now
      const width = 30
      const ratio = total ? Math.min(1, done / total) : 0
      const bar = total ? `${c.green('█'.repeat(Math.round(ratio * width)))}${c.dim('░'.repeat(width - Math.round(ratio * width)))} ${String(Math.round(ratio * 100)).padStart(3)}%` : ''
      process.stderr.write(`\r\u001B[2K${bar} ${counts.sent} events  ${c.green(`stored ${counts.stored}`)}  ${c.yellow(`duplicate ${counts.duplicates}`)}  ${counts.rejected ? c.red(`rejected ${counts.rejected}`) : 'rejected 0'}`)
    },
    done() {
      if (enabled) process.stderr.write('\n')
    },
  }
}

async function sendBatch(url, token, events) {
  for (let attempt = 0; ; attempt++) {
    const res = await request(`${url}/api/ingest`, {
      method: 'POST',
      headers: { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    })
    const body = await res.json().catch(() => null)
    if (res.status === 200 || res.status === 207) return body
    if (res.status === 401 || res.status === 403) throw new CliError(`the server refused the credential: ${body?.error?.message ?? res.status}`, EXIT.UNREACHABLE)
    if ((res.status === 429 || res.status >= 500) && attempt < 5) {
      const wait = Number(res.headers.get('retry-after')) * 1000 || 500 * 2 ** attempt
      await new Promise(r => setTimeout(r, wait))
      continue
    }
    throw new CliError(`POST /api/ingest answered ${res.status}: ${body?.error?.message ?? JSON.stringify(body)}`)
  }
}

/** The events of a JSONL file in batches, with the line number of each. */
async function* jsonlBatches(path, batchSize, onBytes) {
  const input = path === '-' ? process.stdin : createReadStream(path)
  if (path !== '-') input.on('data', chunk => onBytes(chunk.length))
  const lines = createInterface({ input, crlfDelay: Infinity })
  let batch = []
  let bytes = 0
  let lineNo = 0
  for await (const line of lines) {
    lineNo++
    if (!line.trim()) continue
    let event
    try {
      event = JSON.parse(line)
    }
    catch (error) {
      yield { invalid: { line: lineNo, message: `not JSON: ${error.message}` } }
      continue
    }
    batch.push({ event, line: lineNo })
    bytes += line.length
    if (batch.length >= batchSize || bytes >= MAX_BATCH_BYTES) {
      yield { batch }
      batch = []
      bytes = 0
    }
  }
  if (batch.length) yield { batch }
}

async function importJsonl(path, { url, token, batchSize, project, progress }) {
  const counts = { sent: 0, stored: 0, duplicates: 0, rejected: 0 }
  const rejections = []
  const total = path === '-' ? 0 : statSync(path).size
  let read = 0
  for await (const item of jsonlBatches(path, batchSize, n => (read += n))) {
    if (item.invalid) {
      counts.sent++
      counts.rejected++
      rejections.push({ line: item.invalid.line, id: null, code: 'INVALID_JSON', message: item.invalid.message })
      continue
    }
    const events = project ? item.batch.map(({ event }) => (event && typeof event === 'object' && !event.project_id ? { ...event, project_id: project } : event)) : item.batch.map(b => b.event)
    const body = await sendBatch(url, token, events)
    counts.sent += events.length
    counts.stored += body.stored
    counts.duplicates += body.duplicates
    counts.rejected += body.rejected
    body.results.forEach((r, i) => {
      if (r.status === 'rejected') rejections.push({ line: item.batch[i].line, id: r.id, code: r.error.code, message: r.error.message })
    })
    progress.update(read, total, counts)
  }
  progress.update(total, total, counts, true)
  return { counts, rejections }
}

/** MARCUS_ROOT or MARCUS_LOG_DIR for a directory given on the command line. */
function marcusEnv(dir) {
  if (existsSync(join(dir, 'logs'))) return { MARCUS_ROOT: dir }
  if (existsSync(join(dir, 'conversations'))) return { MARCUS_LOG_DIR: join(dir, 'conversations') }
  if (readdirSync(dir).some(n => n.endsWith('.jsonl'))) return { MARCUS_LOG_DIR: dir }
  throw usageError(`${dir} does not look like a Marcus root (no logs/, no conversations/, no .jsonl files)`)
}

async function importMarcus(dir, { progress }) {
  const target = dataDir()
  if (runningServers(target).length) {
    throw new CliError(`a server is running on ${target}: a Marcus root is read by the Marcus log connector of the data directory's own server. Stop it and run the import again, or start it with MARCUS_ROOT=${dir}`, EXIT.REFUSED)
  }
  const server = await startPrivateServer({ dataDir: target, env: { MARCUS_ROOT: undefined, MARCUS_LOG_DIR: undefined, MARCUS_MCP_URL: undefined, ...marcusEnv(resolve(dir)), SENECA_MARCUS_POLL_MS: '100' } })
  try {
    const token = await resolveToken(undefined, { role: 'admin', projects: ['*'] })
    const counts = { sent: 0, stored: 0, duplicates: 0, rejected: 0 }
    let stats
    let stable = 0
    for (;;) {
      const res = await request(`${server.url}/api/connectors`, { headers: { authorization: `Bearer ${token}` } })
      if (res.status !== 200) throw new CliError(`GET /api/connectors answered ${res.status}`)
      stats = (await res.json()).connectors[0]
      if (stats) {
        const size = stats.files.reduce((n, f) => n + f.size, 0)
        const offset = stats.files.reduce((n, f) => n + f.offset, 0)
        Object.assign(counts, { sent: stats.events_stored + stats.events_duplicate + stats.events_rejected, stored: stats.events_stored, duplicates: stats.events_duplicate, rejected: stats.events_rejected })
        progress.update(offset, size, counts)
        // Caught up twice in a row: the legacy pipeline file and the last batch are in too.
        stable = stats.caught_up ? stable + 1 : 0
        if (stable >= 2) {
          progress.update(size, size, counts, true)
          break
        }
      }
      await new Promise(r => setTimeout(r, 200))
    }
    const rejections = stats.last_error ? [{ line: null, id: null, code: 'CONNECTOR', message: stats.last_error }] : []
    return { counts, rejections, marcus: { lines: stats.lines, malformed: stats.malformed, unknown: stats.unknown, project_id: stats.project_id } }
  }
  finally {
    await server.stop()
  }
}

export async function importCommand(args) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'url': { type: 'string' },
      'token': { type: 'string' },
      'project': { type: 'string' },
      'batch': { type: 'string' },
      'json': { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
  })
  const [path] = positionals
  if (!path || positionals.length > 1) throw usageError('import needs one file, "-" or a Marcus root')
  const batchSize = values.batch === undefined ? 1000 : Number(values.batch)
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) throw usageError('--batch must be a whole number from 1 to 5000')
  if (path !== '-' && !existsSync(path)) throw usageError(`${path}: no such file or directory`)
  const progress = progressBar(!values['no-progress'] && !!process.stderr.isTTY)
  const started = Date.now()
  let result
  try {
    if (path !== '-' && statSync(path).isDirectory()) {
      if (values.url || process.env.SENECA_URL) throw usageError('a Marcus root is imported into the data directory ($SENECA_DATA_DIR), not sent to --url: give the server MARCUS_ROOT instead')
      result = await importMarcus(path, { progress })
    }
    else {
      const explicit = values.url || process.env.SENECA_URL
      const [running] = explicit ? [] : runningServers()
      const server = explicit || running ? null : await startPrivateServer({ dataDir: dataDir(), env: { MARCUS_ROOT: undefined, MARCUS_LOG_DIR: undefined, MARCUS_MCP_URL: undefined } })
      try {
        const url = (explicit || (running ? serverUrl(running) : server.url)).replace(/\/+$/, '')
        const token = await resolveToken(values.token, { role: 'ingest', projects: values.project ? [values.project] : ['*'] })
        result = await importJsonl(path, { url, token, batchSize, project: values.project, progress })
        result.target = server ? `${dataDir()} (private server)` : url
      }
      finally {
        await server?.stop()
      }
    }
  }
  finally {
    progress.done()
  }
  const { counts, rejections } = result
  const ms = Date.now() - started
  if (values.json) {
    console.log(JSON.stringify({ source: path, events: counts.sent, stored: counts.stored, duplicates: counts.duplicates, rejected: counts.rejected, duration_ms: ms, rejections: rejections.slice(0, 100), ...(result.marcus ? { marcus: result.marcus } : {}) }))
  }
  else {
    const c = palette()
    console.log(`${c.bold('imported')} ${path}: ${counts.sent} events in ${duration(ms)} — ${c.green(`stored ${counts.stored}`)}, ${c.yellow(`duplicate ${counts.duplicates}`)}, ${counts.rejected ? c.red(`rejected ${counts.rejected}`) : 'rejected 0'}`)
    if (result.marcus) console.log(`  Marcus: ${result.marcus.lines} lines read, ${result.marcus.malformed} malformed, ${result.marcus.unknown} unknown, project ${result.marcus.project_id ?? '(none)'}`)
    for (const r of rejections.slice(0, 10)) console.error(`  ${r.line ? `line ${r.line}: ` : ''}${r.id ? `${r.id} ` : ''}${r.code}: ${r.message}`)
    if (rejections.length > 10) console.error(`  … and ${rejections.length - 10} more`)
  }
  return counts.rejected > 0 ? EXIT.PARTIAL : EXIT.OK
}
