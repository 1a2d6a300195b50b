import { randomBytes } from 'node:crypto'

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
let lastMs = 0
let counter = 0

/**
 * Time-ordered, unique ids (`evt_…`): 10 chars of milliseconds, then a per-ms counter
 * and randomness, in Crockford base32. Sortable by creation time within one process.
 */
export function newId(prefix: string): string {
  const now = Date.now()
  if (now === lastMs) counter++
  else {
    lastMs = now
    counter = 0
  }
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time
    t = Math.floor(t / 32)
  }
  const rand = randomBytes(8)
  let tail = alphabet[(counter >> 5) % 32]! + alphabet[counter % 32]!
  for (const b of rand) tail += alphabet[b % 32]
  return `${prefix}_${time}${tail}`
}

export function iso(ms: number | null | undefined): string | null {
  return ms == null ? null : new Date(ms).toISOString()
}
