import { describe, expect, it } from 'vitest'
import { JsonText, jsonString } from '../../server/utils/json-text'

describe('JSON text', () => {
  it('quotes a string exactly as JSON.stringify does', () => {
    const samples = ['', 'conv-1', 'agent_a', 'proj.x:y@z/w+v-u', 'with space', 'quote "q"', 'back\\slash', 'line\nbreak\ttab',
      '\u0000\u001f\u007f', 'Größe ↔ 日本語', 'emoji 🙂', 'lone \ud800 surrogate', '\u2028\u2029', '</script>']
    for (const s of samples) expect(jsonString(s)).toBe(JSON.stringify(s))
    expect(jsonString(null)).toBe('null')
  })

  it('serialises to its own text when something stringifies it again', () => {
    const text = new JsonText<{ a: number[], b: string | null }>('{"a":[1,2],"b":null}')
    expect(JSON.stringify(text)).toBe(text.json)
    expect(text.value()).toEqual({ a: [1, 2], b: null })
  })
})
