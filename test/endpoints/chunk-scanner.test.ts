import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ChunkFacts, scanChunk, StreamScanCache } from '../../src/adapters/endpoints/chunk-scanner.js'
import { StreamRecorder } from '../../src/adapters/endpoints/stream-recorder.js'

// The scanner must only ever agree with the slow path (JSON.parse) or step aside. Each test feeds the
// same lines through a recorder that may use the fast path and one that only uses JSON.parse, and
// compares everything they recorded.

const V = '{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1733000000,"model":"m"'
const LINES = {
  role: `${V},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
  content: (text: string) => `${V},"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}`,
  last: (text: string, finish: string) => `${V},"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":"${finish}"}]}`,
  usage: (p: number, c: number) => `${V},"choices":[],"usage":{"prompt_tokens":${p},"total_tokens":${p + c},"completion_tokens":${c}}}`,
  continuous: (text: string, p: number, c: number) => `${V},"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":${p},"total_tokens":${p + c},"completion_tokens":${c}}}`,
}

const CORPUS: string[] = [
  LINES.role,
  LINES.content(' the'),
  LINES.content(''),
  LINES.content('line\nbreak "quoted" \\ back\tslash é 🚀 \u0001'),
  LINES.last(' end', 'length'),
  LINES.last('', 'stop'),
  LINES.usage(12, 34),
  LINES.continuous(' a', 12, 1),
  // completions
  '{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" hi","logprobs":null,"finish_reason":null}]}',
  '{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"stop"}],"usage":null}',
  // reasoning models, tool calls
  `${V},"choices":[{"index":0,"delta":{"reasoning_content":"think"},"finish_reason":null}]}`,
  `${V},"choices":[{"index":0,"delta":{"reasoning_content":null,"reasoning":"think"},"finish_reason":null}]}`,
  `${V},"choices":[{"index":0,"delta":{"reasoning_content":"","reasoning":"think"},"finish_reason":null}]}`,
  `${V},"choices":[{"index":0,"delta":{"content":null,"reasoning":""},"finish_reason":null}]}`,
  `${V},"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":1}"}}]},"finish_reason":null}]}`,
  `${V},"choices":[{"index":0,"delta":{"tool_calls":[]},"finish_reason":null}]}`,
  // layout variants: whitespace, key order, usage first, finish before delta, extra choices, nesting
  ' { "choices" : [ { "delta" : { "content" : "x" } , "finish_reason" : null } ] , "usage" : { "completion_tokens" : 3 } } ',
  '{"usage":{"prompt_tokens":5,"completion_tokens":2},"choices":[{"finish_reason":"stop","delta":{"content":"y"}}]}',
  '{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}],"x":[1,-2.5e+3,true,false,null,{"k":[]}],"y":{}}',
  '{"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-0.01,"bytes":[97],"top_logprobs":[]}]},"finish_reason":null}]}',
  '{"choices":[{"delta":null,"finish_reason":"stop"}]}',
  '{"choices":[{}]}',
  '{"choices":[]}',
  '{"choices":[null]}',
  '{"choices":[1]}',
  '{"choices":[{"delta":"text?"}]}',
  '{"choices":[{"delta":{"content":5}}]}',
  '{"choices":[{"finish_reason":"le\\u006egth"}]}',
  '{"choices":[{"finish_reason":5}]}',
  '{"choices":[],"usage":{"prompt_tokens":1.5,"completion_tokens":2}}',
  '{"choices":[],"usage":{"prompt_tokens":-1,"completion_tokens":2e1}}',
  '{"choices":[],"usage":{"completion_tokens":007}}',
  '{"choices":[],"usage":"none"}',
  '{"choices":[{"delta":{"content":"x"}}],"choices":[]}',
  '{"usage":{"completion_tokens":1},"usage":{"completion_tokens":2},"choices":[]}',
  '{"cho\\u0069ces":[{"delta":{"content":"x"}}]}',
  // not chunks
  '{"error":{"message":"engine died","code":500}}',
  '{"object":"error","message":"bad","type":"BadRequestError","code":400}',
  '{"choices":{"0":{}}}',
  '{}',
  '[]',
  '"text"',
  '42',
  'null',
  // not JSON
  '{"choices":[{"delta":{"content":"oops"}}',
  '{"choices":[]},',
  "{'choices':[]}",
  '{"choices":[],}',
  '{"choices":[NaN]}',
  '{"choices":[01]}',
  '{"choices":["\\x"]}',
  '{"choices":["\\u12"]}',
  '{"choices":["raw\u0001control"]}',
  '{"choices":[tru]}',
  '{"choices":[1.]}',
  '{"choices":[-]}',
  '{"choices":[] "x":1}',
  'data: nested',
  '',
]

function snapshot(r: StreamRecorder): unknown {
  return {
    chunkTokens: [...r.chunkTokens],
    chunks: r.chunkAtNs.length,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    finishReason: r.finishReason,
    error: r.error?.kind ?? null,
    tokenSource: r.tokenSource,
  }
}

/** Feeds lines as the parser would: the fast path first, the slow path when it steps aside. */
function feed(lines: readonly string[], fast: boolean): unknown[] {
  const rec = new StreamRecorder()
  const states: unknown[] = []
  lines.forEach((line, k) => {
    rec.nowNs = k
    const buf = Buffer.from(`xx${line}yy`) // the line sits inside a larger buffer, as in a network chunk
    if (!fast || !rec.onEventBytes(buf, 2, buf.length - 2, '')) rec.onEvent(line, '')
    states.push(snapshot(rec))
  })
  return states
}

test('every corpus line alone: the fast path and JSON.parse record the same', () => {
  for (const line of CORPUS) assert.deepEqual(feed([line], true), feed([line], false), line)
})

test('when the scanner accepts a line, JSON.parse accepts it too (every truncation and corruption of the corpus)', () => {
  const facts = new ChunkFacts()
  let accepted = 0
  for (const line of CORPUS) {
    const variants = [line]
    for (let cut = 0; cut < line.length; cut++) variants.push(line.slice(0, cut))
    for (let at = 0; at < line.length; at += 3) for (const ch of ['"', '}', ']', ',', ':', '\\', ' ', 'x']) variants.push(line.slice(0, at) + ch + line.slice(at + 1))
    for (const v of variants) {
      const buf = Buffer.from(v)
      if (!scanChunk(buf, 0, buf.length, facts)) continue
      accepted += 1
      assert.doesNotThrow(() => JSON.parse(v), `scanner accepted invalid JSON: ${v}`)
      assert.deepEqual(feed([v], true), feed([v], false), v)
    }
  }
  assert.ok(accepted > 100, `the fast path should take the ordinary lines (took ${accepted})`)
})

test('streams: the per-stream prefix/suffix cache gives the same records as JSON.parse, whatever changes between chunks', () => {
  const streams: string[][] = [
    [LINES.role, ...Array.from({ length: 20 }, (_, i) => LINES.content(` w${i}`)), LINES.last('.', 'length'), LINES.usage(9, 22)],
    [LINES.role, ...Array.from({ length: 10 }, (_, i) => LINES.continuous(`t${i}`, 9, i + 1)), LINES.usage(9, 10)],
    // the suffix changes (finish), then the prefix changes (new id), then back
    [LINES.content('a'), LINES.content('b'), LINES.last('c', 'stop'), LINES.content('d'), LINES.content('e').replace('chatcmpl-9', 'chatcmpl-10'), LINES.content('f'), LINES.content('g')],
    // a suffix that carries facts, then one that does not
    [LINES.content('a'), LINES.continuous('b', 1, 5), LINES.continuous('c', 1, 6), LINES.content('d'), LINES.continuous('e', 1, 9)],
    // a matching prefix followed by something that is no longer valid
    [LINES.content('a'), LINES.content('b'), `${LINES.content('c').slice(0, -3)}`, LINES.content('d')],
    [LINES.content('a'), `${LINES.content('b')}x`, LINES.content('c'), LINES.content('d').replace('"finish_reason":null', '"finish_reason":null,"error":1')],
    // reasoning after content in the suffix
    [LINES.content(''), LINES.content('').replace('"content":""}', '"content":"","reasoning":"r"}'), LINES.content('').replace('"content":""}', '"content":"","reasoning":"r"}')],
  ]
  for (const lines of streams) assert.deepEqual(feed(lines, true), feed(lines, false), lines.join('\n'))
})

test('the cache does skip repeated bytes: after the first chunk only the content is scanned', () => {
  const cache = new StreamScanCache()
  const facts = new ChunkFacts()
  const a = Buffer.from(LINES.content(' one'))
  assert.ok(scanChunk(a, 0, a.length, facts, cache), 'scanChunk(a, 0, a.length, facts, cache)')
  assert.equal(cache.prefix.toString('utf8', 0, cache.prefixLength), `${V},"choices":[{"index":0,"delta":{"content":`)
  const b = Buffer.from(LINES.content(' two'))
  assert.ok(scanChunk(b, 0, b.length, facts, cache), 'scanChunk(b, 0, b.length, facts, cache)')
  assert.equal(cache.suffix.toString('utf8', 0, cache.suffixLength), '},"logprobs":null,"finish_reason":null}]}')
  assert.ok(facts.content, 'facts.content')
  const c = Buffer.from(LINES.content(''))
  assert.ok(scanChunk(c, 0, c.length, facts, cache), 'scanChunk(c, 0, c.length, facts, cache)')
  assert.equal(facts.content, false)
})
