import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Clock } from '../../core/ports.js'
import type { RequestError } from '../../core/records.js'
import { subscribeAbort } from '../signal/abort-fanout.js'
import { rxStamp } from './rx-stamps/stamped-socket.js'
import { SseParser } from './sse-parser.js'
import { spinUntil, type SendLead } from './send-lead.js'
import { snippet, StreamRecorder } from './stream-recorder.js'
import { classifyTransportError, type AbortCause } from './transport-errors.js'

/** How much of a non-SSE body (an HTTP error, a JSON reply) is kept for the message. */
const TEXT_BYTES = 4096

/**
 * One streaming request as an undici dispatch handler. Using `dispatch` rather than `request()` puts
 * the body bytes straight into the SSE parser from undici's HTTP parser callback: no Readable per
 * response, no `data` event, no extra tick before a chunk is timestamped. At hundreds of thousands of
 * chunks per second that stream layer alone costs as much as all the bookkeeping, and the tick it adds
 * would show up as latency.
 *
 * The handler never throws and settles exactly once (`done`); what happened is in its fields.
 */
export class StreamExchange implements Dispatcher.DispatchHandler {
  readonly rec = new StreamRecorder()
  sentAtNs = 0
  headersAtNs: number | null = null
  lastByteAtNs: number | null = null
  status: number | null = null
  contentType: string | null = null
  server: string | null = null
  error: RequestError | null = null
  readonly done: Promise<void>
  private readonly parser: SseParser
  private mode: 'sse' | 'http-error' | 'json' = 'sse'
  private text: Buffer[] = []
  private textBytes = 0
  private retryAfter: string | null = null
  private controller: Dispatcher.DispatchController | null = null
  private abortCause: AbortCause = null
  private settled = false
  private timer: NodeJS.Timeout | null = null
  private resolve: () => void = () => undefined
  /** A scheduled request: not written before `notBeforeNs`; its hand-over lag feeds `lead`. */
  private schedule: { readonly notBeforeNs: number; readonly handedAtNs: number; readonly lead: SendLead } | null = null
  private readonly onAbortSignal = (): void => this.abort('aborted')
  private unsubscribeAbort: () => void = () => undefined

  constructor(
    private readonly clock: Clock,
    private readonly requireUsage: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.parser = new SseParser(this.rec)
    this.done = new Promise<void>((resolve) => {
      this.resolve = resolve
    })
  }

  /** Arms the total timeout and stamps a provisional send time; call right before dispatching. */
  start(totalMs: number): void {
    this.sentAtNs = this.clock.nowNs()
    this.timer = setTimeout(() => this.abort('total_timeout'), totalMs)
    if (this.signal !== undefined) this.unsubscribeAbort = subscribeAbort(this.signal, this.onAbortSignal)
  }

  /** Makes this a scheduled write: handed over at `handedAtNs`, written no earlier than `notBeforeNs`. */
  scheduleWrite(notBeforeNs: number, handedAtNs: number, lead: SendLead): void {
    this.schedule = { notBeforeNs, handedAtNs, lead }
  }

  /**
   * undici calls this right before it writes the request to its connection: after any wait for a free
   * connection, for a new connection's set-up, or for the one loop turn undici 7 waits before reusing an
   * idle keep-alive socket (GHSA-35p6-xmwp-9g52). The send time is taken here, so TTFT measures the
   * server and the wire, not the client's queue; an open-loop schedule still sees that wait as lag.
   * A scheduled request handed over early (see SendLead) that is ready before its time spins out the
   * rest here, so it is written on the schedule.
   */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    const s = this.schedule
    if (s !== null) {
      this.schedule = null
      const readyNs = this.clock.nowNs()
      s.lead.observe(readyNs - s.handedAtNs)
      if (readyNs < s.notBeforeNs) spinUntil(() => this.clock.nowNs(), s.notBeforeNs)
    }
    this.sentAtNs = this.clock.nowNs()
    this.controller = controller
    if (this.abortCause !== null) controller.abort(abortError(this.abortCause))
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200 || this.settled) return // 1xx informational
    this.headersAtNs = rxStamp.ns ?? this.clock.nowNs()
    this.status = statusCode
    this.contentType = first(headers['content-type'])
    this.server = first(headers.server)
    this.retryAfter = first(headers['retry-after'])
    if (statusCode >= 300) this.mode = 'http-error'
    else if (this.contentType !== null && this.contentType.includes('application/json')) this.mode = 'json'
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return
    const t = rxStamp.ns ?? this.clock.nowNs()
    this.lastByteAtNs = t
    if (this.mode === 'sse') {
      const rec = this.rec
      if (rec.error !== null) return // after a protocol error the rest is drained unread
      rec.nowNs = t
      this.parser.push(chunk)
    } else if (this.textBytes < TEXT_BYTES) {
      this.text.push(chunk)
      this.textBytes += chunk.length
    }
  }

  onResponseEnd(): void {
    if (this.settled) return
    if (this.mode === 'sse' && this.rec.error === null) this.parser.end()
    this.finish(null)
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.finish(err)
  }

  /** Cuts the request short; it settles at once even if undici has not started it yet. */
  abort(cause: Exclude<AbortCause, null>): void {
    if (this.settled) return
    this.abortCause ??= cause
    const err = abortError(cause)
    // Settle now: the record must not wait on how soon undici reports the abort back.
    this.finish(err)
    this.controller?.abort(err)
  }

  private finish(transportError: Error | null): void {
    if (this.settled) return
    this.settled = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.unsubscribeAbort()
    const rec = this.rec
    if (this.mode === 'http-error' && transportError === null) {
      const status = this.status ?? 0
      const message = `HTTP ${status}${this.retryAfter !== null ? ` (retry-after ${this.retryAfter})` : ''}: ${this.bodyText() || '(empty body)'}`
      this.error = status === 429 ? { kind: 'rate_limited', status, message } : { kind: 'http_status', status, message }
    } else if (this.mode === 'json' && transportError === null) {
      this.error = { kind: 'malformed_sse', message: `server answered ${this.contentType ?? 'JSON'}, not an SSE stream: ${this.bodyText()}` }
    } else if (rec.error !== null) {
      this.error = rec.error
    } else if (transportError !== null) {
      // A response that already reached [DONE] is complete, whatever happened to the socket after.
      if (!rec.done) this.error = classifyTransportError(transportError, this.headersAtNs !== null, this.abortCause)
    } else if (!rec.complete) {
      this.error = { kind: 'stream_cut', message: 'stream ended before [DONE] or a finish_reason' }
    } else if (this.requireUsage && !rec.usageSeen) {
      this.error = { kind: 'missing_usage', message: 'the stream carried no usage although include_usage was asked for' }
    }
    this.text = []
    this.resolve()
  }

  private bodyText(): string {
    return snippet(Buffer.concat(this.text).toString('utf8', 0, Math.min(this.textBytes, TEXT_BYTES)))
  }
}

function first(v: string | string[] | undefined): string | null {
  if (v === undefined) return null
  return Array.isArray(v) ? (v[0] ?? null) : v
}

function abortError(cause: Exclude<AbortCause, null>): Error {
  const err = new Error(cause === 'total_timeout' ? 'request exceeded the total timeout' : 'request aborted')
  err.name = 'AbortError'
  return err
}
