/**
 * A validating, allocation-free reader of one OpenAI streaming chunk (`{"choices":[{"delta":{…}}],…}`)
 * straight from the bytes of its `data:` line: the client's fast path.
 *
 * Why not only `JSON.parse`: at the ingest rate the client must sustain (≥ 450k tokens/s on one core)
 * decoding each line to a string and building its object tree costs more than everything else per
 * token together. This scanner walks the bytes once, checks the whole line is well-formed JSON, and
 * keeps only the handful of facts a record needs. It is deliberately conservative: whenever a line is
 * not plainly a well-formed chunk of the expected shape (invalid JSON, an `error` member, escapes in a
 * key, a repeated key, `choices[0]` not an object, a token count that is not a plain integer, …) it
 * answers `false` and the caller takes the slow path — one `JSON.parse` — which decides exactly as
 * before. So the fast path can only agree with the slow one or step aside; the tests check both on the
 * same inputs.
 *
 * One more trick, per stream ({@link StreamScanCache}): the chunks of one response repeat the same
 * leading bytes (`{"id":"…","object":"…","created":…,"model":"…","choices":[{"index":0,"delta":{"content":`)
 * and mostly the same trailing ones (`},"logprobs":null,"finish_reason":null}]}`); only the content
 * differs. Once a line has been fully validated, its bytes before the content value are kept; a later
 * line that starts with exactly those bytes (one native compare) is in exactly the same parser state
 * there, so scanning resumes at the content value. Likewise the bytes after the content value are kept
 * with the facts they carried, and a later line ending in exactly those bytes gets the same facts. The
 * prefix is only kept when nothing before the content value carried a fact (usage, text,
 * finish_reason, reasoning), so skipping it loses nothing.
 */

/** What the scanner found in a chunk it accepted. One instance is reused for every line. */
export class ChunkFacts {
  /** `choices` has at least one element (and its first is an object). */
  hasChoice = false
  /** The first choice carries content (delta.content / reasoning / tool_calls, or text). */
  content = false
  /** Byte range of `choices[0].finish_reason` when it is a string without escapes; -1 when null/absent. */
  finishStart = -1
  finishEnd = -1
  /** `usage.prompt_tokens` / `usage.completion_tokens`; -1 when absent. */
  promptTokens = -1
  completionTokens = -1

  reset(): void {
    this.hasChoice = false
    this.content = false
    this.finishStart = -1
    this.finishEnd = -1
    this.promptTokens = -1
    this.completionTokens = -1
  }
}

/**
 * One stream's scan cache: the validated bytes its chunks repeat before the first choice's content
 * value (the prefix), and after it (the suffix, with the facts it carried).
 */
export class StreamScanCache {
  prefix: Buffer = Buffer.alloc(0)
  prefixLength = 0
  suffix: Buffer = Buffer.alloc(0)
  suffixLength = 0
  suffixContent = false
  /** `finish_reason` range relative to the suffix start; -1 when none. */
  suffixFinishStart = -1
  suffixFinishEnd = -1
  suffixPromptTokens = -1
  suffixCompletionTokens = -1

  /** Whether `buf[start, end)` begins with the kept prefix (and has more after it). */
  prefixMatches(buf: Buffer, start: number, end: number): boolean {
    const len = this.prefixLength
    return len > 0 && end - start > len && buf.compare(this.prefix, 0, len, start, start + len) === 0
  }

  /** Whether `buf[start, end)` is exactly the kept suffix. */
  suffixMatches(buf: Buffer, start: number, end: number): boolean {
    const len = this.suffixLength
    return len > 0 && end - start === len && buf.compare(this.suffix, 0, len, start, end) === 0
  }

  keepPrefix(buf: Uint8Array, start: number, end: number): void {
    const len = end - start
    if (this.prefix.length < len) this.prefix = Buffer.allocUnsafe(Math.max(len, 256))
    this.prefix.set(buf.subarray(start, end), 0)
    this.prefixLength = len
    this.suffixLength = 0 // a new prefix invalidates the suffix (different state before it)
  }

  keepSuffix(buf: Uint8Array, start: number, end: number, facts: ChunkFacts): void {
    const len = end - start
    if (this.suffix.length < len) this.suffix = Buffer.allocUnsafe(Math.max(len, 128))
    this.suffix.set(buf.subarray(start, end), 0)
    this.suffixLength = len
    this.suffixContent = facts.content
    this.suffixFinishStart = facts.finishStart < 0 ? -1 : facts.finishStart - start
    this.suffixFinishEnd = facts.finishStart < 0 ? -1 : facts.finishEnd - start
    this.suffixPromptTokens = facts.promptTokens
    this.suffixCompletionTokens = facts.completionTokens
  }
}

// Module state of the one scan in progress (scans are synchronous and never nest).
let b: Uint8Array = new Uint8Array(0)
let i = 0
let n = 0
let ok = true
/** Nothing before the current position carried a fact: the prefix up to the content value may be kept. */
let cleanPath = true
/** Where the first choice's `delta.content` value starts on a clean path; -1 when it did not. */
let contentAt = -1

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** Kinds a value turned out to be, for the callers that care. */
const V_STRING = 1
const V_NONEMPTY_STRING = 2
const V_NULL = 3
const V_OTHER = 4
const V_NONEMPTY_ARRAY = 5

/**
 * Scans bytes `[start, end)` of `buf` as one chunk. True: well-formed JSON of the expected shape, and
 * `facts` holds what it said. False: take the slow path (the line may still be valid JSON). `cache`
 * (optional, one per stream) lets later chunks of the same stream skip their repeated bytes.
 */
export function scanChunk(buf: Buffer, start: number, end: number, facts: ChunkFacts, cache?: StreamScanCache): boolean {
  b = buf
  n = end
  ok = true
  facts.reset()
  if (cache !== undefined && cache.prefixMatches(buf, start, end)) {
    i = start + cache.prefixLength
    cleanPath = false
    facts.hasChoice = true
    const valueContent = skipValue() === V_NONEMPTY_STRING
    if (!ok) return false
    const suffixAt = i
    if (cache.suffixMatches(buf, suffixAt, end)) {
      facts.content = valueContent || cache.suffixContent
      if (cache.suffixFinishStart >= 0) {
        facts.finishStart = suffixAt + cache.suffixFinishStart
        facts.finishEnd = suffixAt + cache.suffixFinishEnd
      }
      facts.promptTokens = cache.suffixPromptTokens
      facts.completionTokens = cache.suffixCompletionTokens
      return true
    }
    if (!topLoop(facts, true) || !finish()) return false
    cache.keepSuffix(buf, suffixAt, end, facts)
    facts.content ||= valueContent
    return true
  }
  i = start
  cleanPath = true
  contentAt = -1
  skipWs()
  if (i >= n || b[i] !== 0x7b) return false
  i++
  skipWs()
  if (i < n && b[i] === 0x7d) return false // {} has no choices
  if (!topLoop(facts, false) || !finish()) return false
  if (cache !== undefined && contentAt > 0) cache.keepPrefix(buf, start, contentAt)
  return true
}

function finish(): boolean {
  skipWs()
  return ok && i === n
}

/** Members of the top-level object; `resume`: inside `choices`, just after the first choice's content value. */
function topLoop(facts: ChunkFacts, resume: boolean): boolean {
  let sawChoices = resume
  let sawUsage = false
  if (resume && !choicesLoop(facts, true)) return false
  for (let first = !resume; ; first = false) {
    if (!first) {
      skipWs()
      if (i >= n) return false
      const c = b[i]
      i++
      if (c === 0x7d) return ok && sawChoices
      if (c !== 0x2c) return false
    }
    const ks = readKey()
    if (ks < 0) return false
    const ke = keyEnd
    if (keyIs(ks, ke, 'choices')) {
      // a repeated key means "the last one wins" to JSON.parse: leave such oddities to it
      if (sawChoices) return false
      sawChoices = true
      skipWs()
      if (i >= n || b[i] !== 0x5b) return false
      i++
      skipWs()
      if (i < n && b[i] === 0x5d) i++
      else if (!choicesLoop(facts, false)) return false
    } else if (keyIs(ks, ke, 'usage')) {
      if (sawUsage || !scanUsage(facts)) return false
      sawUsage = true
      cleanPath = false
    } else if (keyIs(ks, ke, 'error') || keyIs(ks, ke, 'timings') || keyIs(ks, ke, 'tokens_cached')) {
      // llama.cpp's prefix-cache facts (timings.cache_n, tokens_cached) are read by the slow path
      return false
    } else {
      skipValue()
    }
    if (!ok) return false
  }
}

/** Elements of `choices` after its `[`; the first must be an object. */
function choicesLoop(facts: ChunkFacts, resume: boolean): boolean {
  if (resume) {
    if (!choiceLoop(facts, true)) return false
  } else {
    if (i >= n || b[i] !== 0x7b) return false
    i++
    skipWs()
    if (i < n && b[i] === 0x7d) i++
    else if (!choiceLoop(facts, false)) return false
    facts.hasChoice = true
  }
  for (;;) {
    skipWs()
    if (i >= n) return false
    const c = b[i]
    i++
    if (c === 0x5d) return true
    if (c !== 0x2c) return false
    cleanPath = false
    skipValue()
    if (!ok) return false
  }
}

/** Members of the first choice after its `{`; `resume`: just after the delta's content value. */
function choiceLoop(facts: ChunkFacts, resume: boolean): boolean {
  if (resume && !deltaLoop(facts, true)) return false
  for (let first = !resume; ; first = false) {
    if (!first) {
      skipWs()
      if (i >= n) return false
      const c = b[i]
      i++
      if (c === 0x7d) return true
      if (c !== 0x2c) return false
    }
    const ks = readKey()
    if (ks < 0) return false
    const ke = keyEnd
    if (keyIs(ks, ke, 'delta')) {
      skipWs()
      if (i < n && b[i] === 0x7b) {
        i++
        skipWs()
        if (i < n && b[i] === 0x7d) i++
        else if (!deltaLoop(facts, false)) return false
      } else if (skipValue() !== V_NULL) {
        return false
      }
    } else if (keyIs(ks, ke, 'text')) {
      cleanPath = false
      if (skipValue() === V_NONEMPTY_STRING) facts.content = true
    } else if (keyIs(ks, ke, 'finish_reason')) {
      cleanPath = false
      skipWs()
      const s = i
      const kind = skipValue()
      if (kind === V_STRING || kind === V_NONEMPTY_STRING) {
        if (hasEscape(s + 1, i - 1)) return false
        facts.finishStart = s + 1
        facts.finishEnd = i - 1
      } else {
        facts.finishStart = -1
        facts.finishEnd = -1
      }
    } else {
      skipValue()
    }
    if (!ok) return false
  }
}

/** Members of the delta after its `{`; `resume`: just after the value of its `content` key. */
function deltaLoop(facts: ChunkFacts, resume: boolean): boolean {
  // `reasoning_content ?? reasoning`: track both, decide at the end as the slow path does.
  let reasoningContent = 0 // 0 absent or null, 1 empty or not a string, 2 non-empty string
  let reasoning = false
  for (let first = !resume; ; first = false) {
    if (!first) {
      skipWs()
      if (i >= n) return false
      const c = b[i]
      i++
      if (c === 0x7d) {
        if (reasoningContent === 2 || (reasoningContent === 0 && reasoning)) facts.content = true
        return true
      }
      if (c !== 0x2c) return false
    }
    const ks = readKey()
    if (ks < 0) return false
    const ke = keyEnd
    if (keyIs(ks, ke, 'content')) {
      if (cleanPath) {
        contentAt = i
        cleanPath = false
      }
      if (skipValue() === V_NONEMPTY_STRING) facts.content = true
    } else if (keyIs(ks, ke, 'reasoning_content')) {
      cleanPath = false
      const kind = skipValue()
      reasoningContent = kind === V_NONEMPTY_STRING ? 2 : kind === V_NULL ? 0 : 1
    } else if (keyIs(ks, ke, 'reasoning')) {
      cleanPath = false
      reasoning = skipValue() === V_NONEMPTY_STRING
    } else if (keyIs(ks, ke, 'tool_calls')) {
      cleanPath = false
      if (skipValue() === V_NONEMPTY_ARRAY) facts.content = true
    } else {
      skipValue()
    }
    if (!ok) return false
  }
}

function scanUsage(facts: ChunkFacts): boolean {
  skipWs()
  if (i >= n) return false
  if (b[i] !== 0x7b) {
    skipValue() // null or anything else: the slow path ignores a usage that is not an object
    return ok
  }
  i++
  skipWs()
  if (i < n && b[i] === 0x7d) {
    i++
    return true
  }
  for (;;) {
    const ks = readKey()
    if (ks < 0) return false
    const ke = keyEnd
    // cached prompt tokens sit one level down (prompt_tokens_details.cached_tokens): the slow path reads them
    if (keyIs(ks, ke, 'prompt_tokens_details')) return false
    const prompt = keyIs(ks, ke, 'prompt_tokens')
    if (prompt || keyIs(ks, ke, 'completion_tokens')) {
      skipWs()
      const v = readUint()
      if (v < 0) return false
      if (prompt) facts.promptTokens = v
      else facts.completionTokens = v
    } else {
      skipValue()
    }
    if (!ok) return false
    skipWs()
    if (i >= n) return false
    const c = b[i]
    if (c === 0x2c) {
      i++
      continue
    }
    if (c === 0x7d) {
      i++
      return true
    }
    return false
  }
}

// ------------------------------------------------------------------ JSON primitives

let keyEnd = 0

/** Reads `"key" :` and returns the key's start (its end in `keyEnd`); -1 when malformed or escaped. */
function readKey(): number {
  skipWs()
  const buf = b
  const end = n
  let p = i
  if (p >= end || buf[p] !== QUOTE) return -1
  const s = ++p
  for (;;) {
    if (p >= end) return -1
    const c = buf[p] as number
    if (c === QUOTE) break
    if (c === BACKSLASH || c < 0x20) return -1
    p++
  }
  keyEnd = p
  p++
  while (p < end && isWs(buf[p] as number)) p++
  if (p >= end || buf[p] !== 0x3a) return -1
  i = p + 1
  return s
}

function keyIs(s: number, e: number, key: string): boolean {
  if (e - s !== key.length) return false
  for (let k = 0; k < key.length; k++) if (b[s + k] !== key.charCodeAt(k)) return false
  return true
}

function hasEscape(s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (b[k] === BACKSLASH) return true
  return false
}

function skipWs(): void {
  const buf = b
  const end = n
  let p = i
  while (p < end && isWs(buf[p] as number)) p++
  i = p
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

/** Skips one JSON value, validating it; sets `ok = false` when it is malformed. */
function skipValue(): number {
  skipWs()
  if (i >= n) {
    ok = false
    return V_OTHER
  }
  const c = b[i]
  if (c === QUOTE) return skipString()
  if (c === 0x7b) return skipContainer(0x7d, true)
  if (c === 0x5b) return skipContainer(0x5d, false)
  if (c === 0x6e) return literal('null') ? V_NULL : V_OTHER
  if (c === 0x74) {
    literal('true')
    return V_OTHER
  }
  if (c === 0x66) {
    literal('false')
    return V_OTHER
  }
  skipNumber()
  return V_OTHER
}

function skipString(): number {
  const buf = b
  const end = n
  let p = i + 1
  const s = p
  for (;;) {
    if (p >= end) {
      ok = false
      return V_OTHER
    }
    const c = buf[p] as number
    if (c === QUOTE) break
    if (c === BACKSLASH) {
      const e = buf[p + 1]
      if (e === 0x75) {
        for (let k = 2; k < 6; k++) {
          if (p + k >= end || !isHex(buf[p + k])) {
            ok = false
            return V_OTHER
          }
        }
        p += 6
        continue
      }
      if (p + 1 < end && (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
        p += 2
        continue
      }
      ok = false
      return V_OTHER
    }
    if (c < 0x20) {
      ok = false
      return V_OTHER
    }
    p++
  }
  i = p + 1
  return p === s ? V_STRING : V_NONEMPTY_STRING
}

function skipContainer(close: number, isObject: boolean): number {
  i++
  skipWs()
  if (i < n && b[i] === close) {
    i++
    return V_OTHER
  }
  for (;;) {
    if (isObject) {
      skipWs()
      if (i >= n || b[i] !== QUOTE) {
        ok = false
        return V_OTHER
      }
      skipString()
      if (!ok) return V_OTHER
      skipWs()
      if (i >= n || b[i] !== 0x3a) {
        ok = false
        return V_OTHER
      }
      i++
    }
    skipValue()
    if (!ok) return V_OTHER
    skipWs()
    if (i >= n) {
      ok = false
      return V_OTHER
    }
    const c = b[i]
    i++
    if (c === 0x2c) continue
    if (c === close) return isObject ? V_OTHER : V_NONEMPTY_ARRAY
    ok = false
    return V_OTHER
  }
}

function literal(word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    if (i + k >= n || b[i + k] !== word.charCodeAt(k)) {
      ok = false
      return false
    }
  }
  i += word.length
  return true
}

function skipNumber(): void {
  if (b[i] === 0x2d) i++
  if (i >= n) {
    ok = false
    return
  }
  if (b[i] === 0x30) i++
  else if (isDigit(b[i])) while (i < n && isDigit(b[i])) i++
  else {
    ok = false
    return
  }
  if (i < n && b[i] === 0x2e) {
    i++
    if (i >= n || !isDigit(b[i])) {
      ok = false
      return
    }
    while (i < n && isDigit(b[i])) i++
  }
  if (i < n && (b[i] === 0x65 || b[i] === 0x45)) {
    i++
    if (i < n && (b[i] === 0x2b || b[i] === 0x2d)) i++
    if (i >= n || !isDigit(b[i])) {
      ok = false
      return
    }
    while (i < n && isDigit(b[i])) i++
  }
}

/** A plain non-negative integer (what token counts are); -1 for anything else (slow path decides). */
function readUint(): number {
  if (i >= n || !isDigit(b[i])) return -1
  if (b[i] === 0x30 && i + 1 < n && isDigit(b[i + 1])) return -1
  let v = 0
  while (i < n && isDigit(b[i])) {
    v = v * 10 + ((b[i] as number) - 0x30)
    i++
    if (v > Number.MAX_SAFE_INTEGER / 10) return -1
  }
  if (i < n && (b[i] === 0x2e || b[i] === 0x65 || b[i] === 0x45)) return -1
  return v
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
}
