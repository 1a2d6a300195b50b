/**
 * The Marcus log reader on a worker thread (bundled on its own next to the built server, see
 * nuxt.config.ts): finding, reading, merging and identifying lines run here while the
 * server's thread parses, maps and stores the lines before. Lines leave in chunks of plain
 * strings and numbers (cheap to copy), at most READ_AHEAD chunks not yet taken, so a backfill
 * never piles up in memory.
 *
 * From the server: `pass` reads what is new; `taken` after each chunk; `restart` (after a
 * batch failed to store, or a pass to read) drops what was read and starts again from the
 * offsets stored last, answered by `restarted` once nothing older follows. To the server:
 * `chunk` per chunk; `error` when a pass fails (its reading is then left unfinished until a
 * restart).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type LineChunk, MarcusLineReader, type ReaderStart } from './reader'

/** Chunks handed out ahead of the one being taken. */
const READ_AHEAD = 3

export type ReaderWorkerData = ReaderStart & { logsRoot: string }
export type ToReader = { type: 'pass' } | { type: 'taken' } | { type: 'restart', start: ReaderStart }
export type FromReader = { type: 'chunk', chunk: LineChunk } | { type: 'error', message: string } | { type: 'restarted' }

const port = parentPort!
const { logsRoot, ...start } = workerData as ReaderWorkerData
let reader = new MarcusLineReader(logsRoot, start)
/** Bumped by a restart: a pass waiting for room ends without handing out more. */
let generation = 0
let untaken = 0
let wake: (() => void) | undefined

async function pass() {
  const mine = generation
  try {
    for (const chunk of reader.pass()) {
      port.postMessage({ type: 'chunk', chunk } satisfies FromReader)
      untaken++
      while (untaken >= READ_AHEAD && mine === generation) await new Promise<void>(resolve => (wake = resolve))
      if (mine !== generation) return
    }
  }
  catch (error) {
    port.postMessage({ type: 'error', message: (error as Error).message ?? String(error) } satisfies FromReader)
  }
}

port.on('message', (message: ToReader) => {
  if (message.type === 'pass') {
    void pass()
    return
  }
  if (message.type === 'taken') untaken--
  else {
    generation++
    untaken = 0
    reader = new MarcusLineReader(logsRoot, message.start)
    port.postMessage({ type: 'restarted' } satisfies FromReader)
  }
  wake?.()
  wake = undefined
})
