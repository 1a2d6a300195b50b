/** The README's ingest examples are real: every event kind appears, and every example is accepted. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { eventKinds } from '../../shared/events'
import { closeDatabase, openDatabase, setDatabase } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
const examples = [...readme.matchAll(/-d '(\{"events": \[[\s\S]*?\]\})'/g)].map(m => JSON.parse(m[1]!) as { events: { kind: string }[] })

beforeEach(() => setDatabase(openDatabase(':memory:')))
afterEach(() => closeDatabase())

describe('README ingest examples', () => {
  it('show every event kind', () => {
    const shown = new Set(examples.flatMap(e => e.events.map(ev => ev.kind)))
    expect([...eventKinds].filter(k => !shown.has(k))).toEqual([])
  })

  it('are accepted as they are', () => {
    for (const example of examples) {
      const out = ingest(example.events, 'readme')
      expect(out.results.filter(r => r.status === 'rejected')).toEqual([])
    }
  })
})
