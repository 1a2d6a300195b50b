/**
 * The Marcus log reader on a worker thread (bundled on its own next to the built server, see
 * nuxt.config.ts): reading, parsing and mapping lines run here while the server's thread
 * stores the batch before. Each batch leaves as one JSON string (cheaper to hand over than
 * the objects), at most READ_AHEAD of them not yet stored, so a backfill never piles up in
 * memory.
 *
 * From the server: `pass` reads what is new; `stored` after each batch is stored; `restart`
 * (after a batch failed to store, or a pass to read) drops what was read and starts again from
 * the state the server stored last, answered by `restarted` once nothing older follows.
 * To the server: `batch` per batch; `error` when a pass fails (its reading is then left
 * unfinished until a restart).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { MarcusLogReader, type ReaderState } from './reader'

/** Batches handed out ahead of the one being stored. */
const READ_AHEAD = 2

export type ReaderWorkerData = { logsRoot: string, state: ReaderState }
export type ToReader = { type: 'pass' } | { type: 'stored' } | { type: 'restart', state: ReaderState }
export type FromReader = { type: 'batch', json: string } | { type: 'error', message: string } | { type: 'restarted' }

const port = parentPort!
const { logsRoot, state } = workerData as ReaderWorkerData
let reader = new MarcusLogReader(logsRoot, state)
/** Bumped by a restart: a pass waiting for room ends without handing out more. */
let generation = 0
let unstored = 0
let wake: (() => void) | undefined

async function pass() {
  const mine = generation
  try {
    for (const batch of reader.pass()) {
      port.postMessage({ type: 'batch', json: JSON.stringify(batch) } satisfies FromReader)
      unstored++
      while (unstored >= READ_AHEAD && mine === generation) await new Promise<void>(resolve => (wake = resolve))
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
  if (message.type === 'stored') unstored--
  else {
    generation++
    unstored = 0
    reader = new MarcusLogReader(logsRoot, message.state)
    port.postMessage({ type: 'restarted' } satisfies FromReader)
  }
  wake?.()
  wake = undefined
})
