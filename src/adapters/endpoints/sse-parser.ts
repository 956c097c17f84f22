/**
 * A byte-level Server-Sent Events parser (WHATWG HTML §9.2 "event stream interpretation"), written for
 * the client's hot path: at hundreds of thousands of events per second the parser must cost little next
 * to the one `JSON.parse` each event needs.
 *
 * Why hand-written rather than eventsource-parser (which deps.md measured as fast enough): that library
 * takes decoded strings, so the client would have to run a streaming `TextDecoder` over every network
 * chunk and the library then splits and slices those strings again. Working on bytes lets us find line
 * ends with the native `Buffer.indexOf`, recognise `data:` and `[DONE]` by comparing bytes, and hand a
 * one-line event's data over as bytes (`onEventBytes`), so the client's chunk scanner reads it without
 * any decoding; a string is made only when a consumer wants one, once per event and never of a whole
 * buffer. A UTF-8 sequence split across network chunks is never decoded half-way, since only whole
 * lines are.
 *
 * Handled: LF, CRLF and CR line ends (a CRLF split across two chunks counts once); any split of the
 * stream across chunks, including inside a line, a line end or a UTF-8 sequence; a leading BOM (even
 * split); `:` comments; multi-line `data:` (joined with LF); `event:`, `id:` and `retry:` fields; a
 * field line with no colon. One leniency beyond the standard: at end of stream an event whose lines
 * are complete but which lacks the closing blank line is still dispatched (a partial line is not).
 */

/** What the parser calls. `onDone` is optional: given, a lone `data: [DONE]` event goes there instead. */
export interface SseHandlers {
  /** One dispatched event: its data (lines joined by LF) and its `event:` type ('' when none). */
  onEvent(data: string, eventType: string): void
  /**
   * Optional fast path for the common one-line event: its data as bytes `[start, end)` of `buf`, valid
   * only during the call. Return false to have it decoded and passed to `onEvent` instead.
   */
  onEventBytes?(buf: Buffer, start: number, end: number, eventType: string): boolean
  /** The OpenAI end-of-stream sentinel `data: [DONE]`, recognised without decoding. */
  onDone?(): void
  /** A `:` comment line (keep-alives); optional, most callers ignore them. */
  onComment?(): void
}

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
const SPACE = 0x20

/** Incremental SSE parser; feed it bytes with {@link SseParser.push}, then call {@link SseParser.end}. */
export class SseParser {
  private readonly handlers: SseHandlers
  /** Bytes of a line not yet terminated, kept as parts so a long line split many ways is copied once. */
  private partial: Buffer[] = []
  private partialBytes = 0
  /** The previous chunk ended in CR: a LF at the start of the next chunk belongs to it. */
  private skipLeadingLf = false
  private bomChecked = false
  /** First data line of the event being assembled, as bytes (decoded only if a string is wanted). */
  private dataBuf: Buffer | null = null
  private dataStart = 0
  private dataEnd = 0
  private dataLines = 0
  private extraData: string[] | null = null
  private dataIsDone = false
  private eventType = ''
  /** The `id:` field last seen (SSE's last event ID), kept for callers that care. */
  lastEventId = ''
  /** The `retry:` field last seen, in ms; null when none. */
  retryMs: number | null = null
  /** Events dispatched so far (including [DONE]). */
  events = 0

  constructor(handlers: SseHandlers) {
    this.handlers = handlers
  }

  /** Feeds the next bytes of the stream, dispatching every event they complete. */
  push(input: Uint8Array): void {
    let buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    if (!this.bomChecked) {
      const joined = this.partialBytes > 0 ? Buffer.concat([...this.partial, buf]) : buf
      if (joined.length < 3 && isBomPrefix(joined)) {
        this.partial = [joined]
        this.partialBytes = joined.length
        return
      }
      this.bomChecked = true
      this.partial = []
      this.partialBytes = 0
      buf = joined.length >= 3 && joined[0] === 0xef && joined[1] === 0xbb && joined[2] === 0xbf ? joined.subarray(3) : joined
    }
    const len = buf.length
    let pos = 0
    if (this.skipLeadingLf && len > 0) {
      this.skipLeadingLf = false
      if (buf[0] === LF) pos = 1
    }
    let nextLf = -2
    let nextCr = -2
    while (pos < len) {
      if (nextLf !== -1 && nextLf < pos) nextLf = buf.indexOf(LF, pos)
      if (nextCr !== -1 && nextCr < pos) nextCr = buf.indexOf(CR, pos)
      let end: number
      let next: number
      if (nextCr === -1 || (nextLf !== -1 && nextLf < nextCr)) {
        if (nextLf === -1) break
        end = nextLf
        next = end + 1
      } else {
        end = nextCr
        if (end + 1 < len) {
          next = buf[end + 1] === LF ? end + 2 : end + 1
        } else {
          next = end + 1
          this.skipLeadingLf = true
        }
      }
      if (this.partialBytes > 0) {
        this.partial.push(buf.subarray(pos, end))
        const line = Buffer.concat(this.partial, this.partialBytes + end - pos)
        this.partial = []
        this.partialBytes = 0
        this.line(line, 0, line.length)
      } else {
        this.line(buf, pos, end)
      }
      pos = next
      // The blank line that ends an event usually follows at once: take it without another search.
      if (pos < len && buf[pos] === LF && end === nextLf) {
        this.line(buf, pos, pos)
        pos += 1
      }
    }
    if (this.dataBuf === buf) {
      // An event is still open and its data line lives in the caller's buffer: keep a copy.
      this.dataBuf = Buffer.from(buf.subarray(this.dataStart, this.dataEnd))
      this.dataStart = 0
      this.dataEnd = this.dataBuf.length
    }
    if (pos < len) {
      // Keep a copy: the caller may reuse its buffer after push returns.
      const rest = Buffer.from(buf.subarray(pos))
      this.partial.push(rest)
      this.partialBytes += rest.length
    }
  }

  /**
   * The stream ended. A trailing partial line is dropped (as the standard says); an event whose lines
   * all ended but which never got its blank line is dispatched (lenient, see the module comment).
   */
  end(): void {
    this.partial = []
    this.partialBytes = 0
    if (this.dataLines > 0) this.dispatch()
    this.resetEvent()
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (start === end) {
      if (this.dataLines > 0) this.dispatch()
      this.resetEvent()
      return
    }
    const first = buf[start]
    // Fast path: `data:` is almost every line of an OpenAI stream.
    if (first === 0x64 && end - start >= 5 && buf[start + 1] === 0x61 && buf[start + 2] === 0x74 && buf[start + 3] === 0x61 && buf[start + 4] === COLON) {
      let v = start + 5
      if (v < end && buf[v] === SPACE) v += 1
      this.addData(buf, v, end)
      return
    }
    if (first === COLON) {
      this.handlers.onComment?.()
      return
    }
    const colon = buf.indexOf(COLON, start)
    const nameEnd = colon === -1 || colon >= end ? end : colon
    let v = nameEnd === end ? end : nameEnd + 1
    if (v < end && buf[v] === SPACE) v += 1
    const name = buf.toString('latin1', start, nameEnd)
    switch (name) {
      case 'data':
        this.addData(buf, v, end)
        break
      case 'event':
        this.eventType = buf.toString('utf8', v, end)
        break
      case 'id': {
        const id = buf.toString('utf8', v, end)
        if (!id.includes('\0')) this.lastEventId = id
        break
      }
      case 'retry': {
        const text = buf.toString('latin1', v, end)
        if (/^[0-9]+$/.test(text)) this.retryMs = Number(text)
        break
      }
      default:
        break // unknown fields are ignored, as the standard says
    }
  }

  private addData(buf: Buffer, start: number, end: number): void {
    if (this.dataLines === 0) {
      this.dataIsDone = isDoneBytes(buf, start, end)
      this.dataBuf = buf
      this.dataStart = start
      this.dataEnd = end
    } else {
      this.dataIsDone = false
      ;(this.extraData ??= []).push(buf.toString('utf8', start, end))
    }
    this.dataLines += 1
  }

  private dispatch(): void {
    this.events += 1
    if (this.dataIsDone && this.handlers.onDone !== undefined) {
      this.handlers.onDone()
      return
    }
    const buf = this.dataBuf as Buffer
    if (this.extraData === null && this.handlers.onEventBytes?.(buf, this.dataStart, this.dataEnd, this.eventType) === true) return
    const first = buf.toString('utf8', this.dataStart, this.dataEnd)
    const data = this.extraData === null ? first : `${first}\n${this.extraData.join('\n')}`
    this.handlers.onEvent(data, this.eventType)
  }

  private resetEvent(): void {
    this.dataBuf = null
    this.dataLines = 0
    this.extraData = null
    this.dataIsDone = false
    this.eventType = ''
  }
}

function isDoneBytes(buf: Buffer, start: number, end: number): boolean {
  // "[DONE]"
  return end - start === 6 && buf[start] === 0x5b && buf[start + 1] === 0x44 && buf[start + 2] === 0x4f && buf[start + 3] === 0x4e && buf[start + 4] === 0x45 && buf[start + 5] === 0x5d
}

function isBomPrefix(b: Buffer): boolean {
  const bom = [0xef, 0xbb, 0xbf]
  for (let i = 0; i < b.length; i++) if (b[i] !== bom[i]) return false
  return true
}
