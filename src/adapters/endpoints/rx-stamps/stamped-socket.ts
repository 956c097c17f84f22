import { Duplex } from 'node:stream'
import type { Clock } from '../../../core/ports.js'
import { EAGAIN, EINPROGRESS, EINTR, errnoName, type LibcSocket, type PollEvents, type PollHandle } from './libc-socket.js'
import type { RealtimeBridge } from './realtime-bridge.js'

/**
 * The receive time of the bytes undici is parsing right now, on the run's clock, or null when they
 * did not come through a {@link StampedSocket} with a kernel timestamp. undici parses a chunk
 * synchronously inside `socket.read()`'s caller, so the stream handler reads this while the chunk that
 * carried its bytes is current. It is cleared on the next microtask, so no other connection's bytes
 * can ever see it.
 */
export const rxStamp: { ns: number | null } = { ns: null }
let clearPending = false
const clearStamp = (): void => {
  rxStamp.ns = null
  clearPending = false
}

/** An error as Node's sockets raise them: `code` is the errno's name, `syscall` the call. */
export function socketError(errno: number, syscall: string): NodeJS.ErrnoException {
  const code = errnoName(errno)
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}`)
  err.code = code
  err.errno = -errno
  err.syscall = syscall
  return err
}

/**
 * A TCP connection read with `recvmsg`, each read carrying the kernel's receive timestamp
 * (`SO_TIMESTAMPNS`), as a Duplex that undici's HTTP/1.1 client takes in place of a `net.Socket`.
 * Each read is one object on the readable side (objectMode), so the timestamp stays with its bytes;
 * writes are `send` calls, one per corked header + body. Readiness comes from a libuv poll handle on
 * the same event loop, so nothing blocks and no thread is added.
 *
 * The stamp is the time the last TCP segment of a read reached the socket: on loopback, the instant
 * the server's write landed; on a network, when the host's stack took it. A client busy with other
 * streams reads late but stamps right; only bytes of one stream that wait behind each other in one
 * read share the later segment's time.
 */
export class StampedSocket extends Duplex {
  private readonly stamps: number[] = []
  private currentNs: number | null = null
  private poll: PollHandle | null
  private reading = false
  private connecting = true
  private pendingWrite: { buf: Buffer; offset: number; done: (err?: Error | null) => void } | null = null
  private fd: number
  private onConnect: ((err: Error | null) => void) | null = null
  /** The events the poll handle waits for now: 1 readable, 2 writable. */
  private watched = 0

  constructor(
    private readonly libc: LibcSocket,
    fd: number,
    private readonly clock: Clock,
    private readonly bridge: RealtimeBridge,
  ) {
    super({ readableObjectMode: true, allowHalfOpen: false, decodeStrings: true })
    this.fd = fd
    this.poll = libc.poll(fd)
  }

  /** Starts a non-blocking connect to `address` (a sockaddr); `done` gets null once connected. */
  connectTo(address: Buffer, done: (err: Error | null) => void): void {
    const r = this.libc.connect(this.fd, address)
    if (r === 0) {
      this.connected(done)
      return
    }
    if (r !== -EINPROGRESS) {
      done(socketError(-r, 'connect'))
      return
    }
    this.onConnect = done
    this.watch()
  }

  private connected(done: (err: Error | null) => void): void {
    this.connecting = false
    this.watch()
    done(null)
  }

  /** Which events the poll handle waits for: writable while connecting or a write is pending, readable while read. */
  private watch(): void {
    if (this.poll === null) return
    const writable = this.connecting || this.pendingWrite !== null
    const readable = !this.connecting && this.reading
    const events = (readable ? 1 : 0) | (writable ? 2 : 0)
    if (events === this.watched) return
    this.watched = events
    if (events === 0) this.poll.stop()
    else this.poll.start({ readable, writable, disconnect: readable }, this.onPoll)
  }

  private readonly onPoll = (status: number, events: PollEvents): void => {
    if (this.destroyed) return
    // libuv reports a socket's POLLERR as status UV_EBADF and stops the handle; the socket's own
    // pending error (SO_ERROR) says what happened: ECONNREFUSED, ECONNRESET, ETIMEDOUT.
    const pending = status < 0 ? this.libc.socketError(this.fd) : 0
    if (this.connecting) {
      if (status >= 0 && !events.writable && !events.disconnect) return
      const done = this.onConnect
      this.onConnect = null
      const e = status < 0 ? pending || -status : this.libc.socketError(this.fd)
      if (e !== 0) {
        done?.(socketError(e, 'connect'))
        return
      }
      if (done !== null) this.connected(done)
      return
    }
    if (status < 0) {
      // what the server sent before the error is still read (and stamped) first
      if (this.reading) this.receive()
      if (!this.destroyed) this.destroy(socketError(pending || -status, this.pendingWrite !== null ? 'write' : 'read'))
      return
    }
    if (events.writable && this.pendingWrite !== null) this.flush()
    if ((events.readable || events.disconnect) && this.reading) this.receive()
  }

  /** Reads until the socket has nothing more (or the readable side is full), stamping each read. */
  private receive(): void {
    for (;;) {
      const r = this.libc.recv(this.fd)
      if (r.n === -EINTR) continue
      if (r.n === -EAGAIN) return
      if (r.n < 0) {
        this.destroy(socketError(-r.n, 'read'))
        return
      }
      if (r.data === null) {
        this.reading = false
        this.watch()
        this.push(null)
        return
      }
      // The stamp moves from CLOCK_REALTIME onto the run's clock (see RealtimeBridge).
      const nowNs = this.clock.nowNs()
      this.stamps.push(r.stamped ? this.bridge.toRunNs(r.stampS, r.stampNsPart, nowNs) : nowNs)
      if (!this.push(r.data)) {
        this.reading = false
        this.watch()
        return
      }
    }
  }

  override _read(): void {
    if (this.reading) return
    this.reading = true
    if (!this.connecting) this.watch()
  }

  /** One chunk per call (objectMode), and its receive time becomes {@link rxStamp} while it is parsed. */
  override read(size?: number): Buffer | null {
    const chunk = super.read(size) as Buffer | null
    if (chunk === null) return null
    this.currentNs = this.stamps.shift() ?? this.currentNs
    rxStamp.ns = this.currentNs
    if (!clearPending) {
      clearPending = true
      queueMicrotask(clearStamp)
    }
    return chunk
  }

  /** undici hands back the unparsed rest of a chunk; it keeps that chunk's receive time. */
  override unshift(chunk: Buffer): void {
    this.stamps.unshift(this.currentNs ?? this.clock.nowNs())
    super.unshift(chunk)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.write1(chunk, done)
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.write1(chunks.length === 1 ? (chunks[0] as { chunk: Buffer }).chunk : Buffer.concat(chunks.map((c) => c.chunk)), done)
  }

  private write1(buf: Buffer, done: (err?: Error | null) => void): void {
    this.pendingWrite = { buf, offset: 0, done }
    this.flush()
  }

  /** Sends what is pending; on a full send buffer waits for the poll handle to say writable. */
  private flush(): void {
    const w = this.pendingWrite
    if (w === null) return
    while (w.offset < w.buf.length) {
      const n = this.libc.send(this.fd, w.buf, w.offset)
      if (n === -EINTR) continue
      if (n === -EAGAIN) {
        this.watch()
        return
      }
      if (n < 0) {
        this.pendingWrite = null
        w.done(socketError(-n, 'write'))
        return
      }
      w.offset += n
    }
    this.pendingWrite = null
    this.watch()
    w.done(null)
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.fd >= 0) this.libc.shutdownWrite(this.fd)
    done(null)
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const connectDone = this.onConnect
    this.onConnect = null
    this.poll?.close()
    this.poll = null
    if (this.fd >= 0) this.libc.close(this.fd)
    this.fd = -1
    connectDone?.(err ?? new Error('the connection was closed before it was set up'))
    done(err)
  }

  // The net.Socket methods undici and the connector call.
  setNoDelay(): this {
    return this // TCP_NODELAY is set when the socket is opened
  }
  setKeepAlive(): this {
    return this // SO_KEEPALIVE is set when the socket is opened
  }
  ref(): this {
    this.poll?.ref()
    return this
  }
  unref(): this {
    this.poll?.unref()
    return this
  }
}
