import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SseParser, type SseHandlers } from '../../src/adapters/endpoints/sse-parser.js'

interface Seen {
  events: string[]
  comments: number
}

/** Parses `chunks` and lists what came out: `type|data` per event, `DONE` for the sentinel. */
function parse(chunks: readonly Uint8Array[], options: { bytes?: boolean; done?: boolean } = {}): Seen & { parser: SseParser } {
  const seen: Seen = { events: [], comments: 0 }
  const handlers: SseHandlers = {
    onEvent: (data, type) => void seen.events.push(`${type}|${data}`),
    onComment: () => void (seen.comments += 1),
  }
  if (options.done !== false) handlers.onDone = () => void seen.events.push('DONE')
  if (options.bytes === true) {
    // the fast path: decode here, as a consumer reading bytes would
    handlers.onEventBytes = (buf, start, end, type) => {
      seen.events.push(`${type}|${buf.toString('utf8', start, end)}`)
      return true
    }
  }
  const parser = new SseParser(handlers)
  for (const c of chunks) parser.push(c)
  parser.end()
  return { ...seen, parser }
}

const SAMPLE_EVENTS = [
  ': keep-alive comment',
  'data: {"choices":[{"delta":{"content":"héllo wörld 🚀 日本"}}]}',
  '',
  'event: update',
  'id: 42',
  'retry: 1500',
  'data: first line',
  'data:second line without space',
  'data',
  '',
  'data:  two leading spaces keep one',
  '',
  'unknown: ignored field',
  'data: [DONE]',
  '',
]
const EXPECTED = ['|{"choices":[{"delta":{"content":"héllo wörld 🚀 日本"}}]}', 'update|first line\nsecond line without space\n', '| two leading spaces keep one', 'DONE']

function sample(eol: string, bom = false): Buffer {
  return Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(SAMPLE_EVENTS.join(eol) + eol, 'utf8')])
}

for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
  test(`${name} line ends: every event, comment and field comes out`, () => {
    const seen = parse([sample(eol)])
    assert.deepEqual(seen.events, EXPECTED)
    assert.equal(seen.comments, 1)
    assert.equal(seen.parser.lastEventId, '42')
    assert.equal(seen.parser.retryMs, 1500)
  })

  test(`${name}: split into two chunks at every byte offset, the result is the same (incl. inside UTF-8 and CRLF)`, () => {
    const bytes = sample(eol, true)
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const bytesPath of [false, true]) {
        const seen = parse([bytes.subarray(0, cut), bytes.subarray(cut)], { bytes: bytesPath })
        assert.deepEqual(seen.events, EXPECTED, `cut at ${cut} (bytes path ${bytesPath})`)
      }
    }
  })

  test(`${name}: fed one byte at a time, and in random multi-way splits`, () => {
    const bytes = sample(eol, true)
    assert.deepEqual(parse([...bytes].map((b) => Uint8Array.of(b))).events, EXPECTED)
    let seed = 7
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    for (let round = 0; round < 300; round++) {
      const chunks: Buffer[] = []
      for (let at = 0; at < bytes.length; ) {
        const len = 1 + Math.floor(rand() * 40)
        chunks.push(bytes.subarray(at, at + len))
        at += len
      }
      assert.deepEqual(parse(chunks, { bytes: round % 2 === 0 }).events, EXPECTED, `round ${round}`)
    }
  })
}

test('a leading BOM is dropped, even split across chunks; a BOM later in the stream is data', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf])
  const body = Buffer.from('data: x\n\n')
  assert.deepEqual(parse([Buffer.concat([bom, body])]).events, ['|x'])
  assert.deepEqual(parse([bom.subarray(0, 1), bom.subarray(1, 2), Buffer.concat([bom.subarray(2), body])]).events, ['|x'])
  assert.deepEqual(parse([Buffer.from('data: \uFEFFx\n\n')]).events, ['|\uFEFFx'])
  // only one BOM is stripped
  assert.deepEqual(parse([Buffer.concat([bom, Buffer.from('data: \uFEFFy\n\n')])]).events, ['|\uFEFFy'])
})

test('mixed line ends in one stream, and a CR at a chunk end followed by LF counts once', () => {
  assert.deepEqual(parse([Buffer.from('data: a\r\n\ndata: b\r\rdata: c\n\r\n')]).events, ['|a', '|b', '|c'])
  // "data: a\r" | "\n\r\n": the LF after the split CR must not end another (empty) line
  assert.deepEqual(parse([Buffer.from('data: a\r'), Buffer.from('\ndata: b\r\n\r\n')]).events, ['|a\nb'])
})

test('[DONE] goes to onDone when given, else it is an ordinary event; "[DONE]x" is data', () => {
  assert.deepEqual(parse([Buffer.from('data: [DONE]\n\n')]).events, ['DONE'])
  assert.deepEqual(parse([Buffer.from('data: [DONE]\n\n')], { done: false }).events, ['|[DONE]'])
  assert.deepEqual(parse([Buffer.from('data: [DONE]x\n\ndata: [DONE]\ndata: more\n\n')]).events, ['|[DONE]x', '|[DONE]\nmore'])
})

test('an event without data is not dispatched; "data:" alone dispatches an empty string', () => {
  assert.deepEqual(parse([Buffer.from('event: ping\n\nid: 1\n\n')]).events, [])
  assert.deepEqual(parse([Buffer.from('data:\n\n')]).events, ['|'])
  assert.deepEqual(parse([Buffer.from('data\n\n')]).events, ['|'])
})

test('end of stream: complete lines of an unterminated event are dispatched, a partial line is dropped', () => {
  assert.deepEqual(parse([Buffer.from('data: last\n')]).events, ['|last'])
  assert.deepEqual(parse([Buffer.from('data: last\ndata: cut-off')]).events, ['|last'])
  assert.deepEqual(parse([Buffer.from('data: cut-off')]).events, [])
})

test('the bytes handler may decline an event; it then comes to onEvent as a string', () => {
  const got: string[] = []
  const parser = new SseParser({
    onEvent: (d) => void got.push(`str:${d}`),
    onEventBytes: (buf, s, e) => buf.toString('utf8', s, e) === 'fast' && got.push('bytes:fast') > 0,
  })
  parser.push(Buffer.from('data: fast\n\ndata: slow\n\ndata: multi\ndata: line\n\n'))
  assert.deepEqual(got, ['bytes:fast', 'str:slow', 'str:multi\nline'])
})

test('an event still open at the end of a push survives the caller reusing its buffer', () => {
  const got: string[] = []
  const parser = new SseParser({ onEvent: (d) => void got.push(d), onEventBytes: (buf, s, e) => got.push(buf.toString('utf8', s, e)) > 0 })
  const reused = Buffer.from('data: original\n')
  parser.push(reused)
  reused.fill(0x78) // "xxxx…"
  parser.push(Buffer.from('\n'))
  assert.deepEqual(got, ['original'])
})

test('a long line split into many pieces is reassembled once', () => {
  const content = 'z'.repeat(100_000)
  const bytes = Buffer.from(`data: ${content}\n\n`)
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += 7) chunks.push(bytes.subarray(at, at + 7))
  const seen = parse(chunks)
  assert.equal(seen.events.length, 1)
  assert.equal(seen.events[0], `|${content}`)
})
