import { createRequire } from 'node:module'
import { constants } from 'node:os'

/**
 * The few libc socket calls a kernel-stamped connection needs, through koffi (already a dependency,
 * for NVML): `socket`, `connect`, `setsockopt`, `getsockopt`, `recvmsg`, `send`, `shutdown`, `close`
 * and `clock_gettime`, plus koffi's libuv poll handle for readiness. Linux on x86-64 and arm64 only,
 * where `SO_TIMESTAMPNS` is 35 and `struct timespec`, `msghdr` and `cmsghdr` have the 64-bit layout
 * decoded below; elsewhere {@link openLibcSocket} says why not and the client stamps chunks in
 * JavaScript as before.
 *
 * One receive buffer, one control buffer and one `msghdr` are allocated once and shared: every call
 * is synchronous on the thread that loaded this module (a load thread loads its own copy).
 */

export const AF_INET = 2
export const AF_INET6 = 10
const SOCK_STREAM = 1
const SOCK_NONBLOCK = 0o4000
const SOCK_CLOEXEC = 0o2000000
const SOL_SOCKET = 1
const SO_ERROR = 4
const SO_KEEPALIVE = 9
const SO_TIMESTAMPNS = 35
const IPPROTO_TCP = 6
const TCP_NODELAY = 1
const MSG_DONTWAIT = 0x40
const MSG_NOSIGNAL = 0x4000
const SHUT_WR = 1
const CLOCK_REALTIME = 0
/** Bytes one `recvmsg` may return: a loopback or LAN read of SSE is far smaller. */
export const RECV_BYTES = 256 * 1024
const CONTROL_BYTES = 128
/** sizeof(struct msghdr) on LP64 Linux; its fields at 0 (name), 8, 16 (iov), 24, 32 (control), 40, 48. */
const MSGHDR_BYTES = 56

export const EAGAIN = constants.errno.EAGAIN
export const EINPROGRESS = constants.errno.EINPROGRESS
export const EINTR = constants.errno.EINTR
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]))

/** `ECONNRESET` for 104, as Node names a socket error's `code`. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`
}

export interface PollEvents {
  readonly readable: boolean
  readonly writable: boolean
  readonly disconnect: boolean
}
export interface PollHandle {
  start(opts: { readable?: boolean; writable?: boolean; disconnect?: boolean }, callback: (status: number, events: PollEvents) => void): void
  stop(): void
  close(): void
  ref(): void
  unref(): void
}

/** What one `recvmsg` returned: bytes (a copy), or 0 at end of stream, or −errno. */
export interface Received {
  readonly n: number
  readonly data: Buffer | null
  /** The kernel's receive time of the last segment read, CLOCK_REALTIME split as s + ns; null when none came. */
  readonly stampS: number
  readonly stampNsPart: number
  readonly stamped: boolean
}

export interface LibcSocket {
  /** A non-blocking TCP socket with `SO_TIMESTAMPNS`, `TCP_NODELAY` and keep-alive on; −errno on failure. */
  open(family: number): number
  /** 0 when connected, −EINPROGRESS while connecting, else −errno. */
  connect(fd: number, address: Buffer): number
  /** The pending error of a socket (`SO_ERROR`): 0 once a connect succeeded. */
  socketError(fd: number): number
  recv(fd: number): Received
  /** Bytes written, or −errno (−EAGAIN when the send buffer is full). */
  send(fd: number, data: Buffer, offset: number): number
  shutdownWrite(fd: number): void
  close(fd: number): void
  /** CLOCK_REALTIME now, as [s, ns]. */
  realtime(): readonly [number, number]
  poll(fd: number): PollHandle
}

type Koffi = typeof import('koffi')
type Fn = (...args: unknown[]) => number | bigint

let opened: LibcSocket | string | null = null

/** The libc binding, or a one-line reason it is not available on this host. Loaded once. */
export function openLibcSocket(): LibcSocket | string {
  opened ??= load()
  return opened
}

function load(): LibcSocket | string {
  if (process.platform !== 'linux') return `kernel receive timestamps are read on Linux only (this is ${process.platform})`
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `kernel receive timestamps are decoded for x86-64 and arm64 only (this is ${process.arch})`
  let k: Koffi
  try {
    k = createRequire(import.meta.url)('koffi') as Koffi
  } catch (err) {
    return `koffi did not load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`
  }
  let lib: ReturnType<Koffi['load']>
  try {
    lib = k.load('libc.so.6')
  } catch {
    return 'libc.so.6 (glibc) is not on this host'
  }
  const fn = (sig: string): Fn => lib.func(sig) as Fn
  const c = {
    socket: fn('int socket(int, int, int)'),
    connect: fn('int connect(int, void *, uint32_t)'),
    setsockopt: fn('int setsockopt(int, int, int, void *, uint32_t)'),
    getsockopt: fn('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)'),
    recvmsg: fn('intptr_t recvmsg(int, void *, int)'),
    send: fn('intptr_t send(int, void *, size_t, int)'),
    shutdown: fn('int shutdown(int, int)'),
    close: fn('int close(int)'),
    clockGettime: fn('int clock_gettime(int, void *)'),
  }
  const errno = (): number => k.errno()
  const data = k.alloc('uint8_t', RECV_BYTES)
  const control = k.alloc('uint8_t', CONTROL_BYTES)
  const iov = k.alloc('uint8_t', 16)
  const msg = k.alloc('uint8_t', MSGHDR_BYTES)
  const dataView = new Uint8Array(k.view(data, RECV_BYTES))
  const controlView = new DataView(k.view(control, CONTROL_BYTES))
  const iovView = new DataView(k.view(iov, 16))
  iovView.setBigUint64(0, k.address(data), true)
  iovView.setBigUint64(8, BigInt(RECV_BYTES), true)
  // No name, one iovec, the control buffer: set once; the kernel rewrites only controllen and flags.
  const msgView = new DataView(k.view(msg, MSGHDR_BYTES))
  msgView.setBigUint64(16, k.address(iov), true)
  msgView.setBigUint64(24, 1n, true)
  msgView.setBigUint64(32, k.address(control), true)
  const CONTROL_LENGTH = BigInt(CONTROL_BYTES)
  const int1 = Buffer.alloc(4)
  int1.writeInt32LE(1)
  const optValue = Buffer.alloc(4)
  const optLength = [4]
  const timespec = Buffer.alloc(16)

  const setInt = (fd: number, level: number, name: number): boolean => c.setsockopt(fd, level, name, int1, 4) === 0
  const binding: LibcSocket = {
    open(family) {
      const fd = c.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number
      if (fd < 0) return -errno()
      if (!setInt(fd, SOL_SOCKET, SO_TIMESTAMPNS) || !setInt(fd, IPPROTO_TCP, TCP_NODELAY) || !setInt(fd, SOL_SOCKET, SO_KEEPALIVE)) {
        const e = errno()
        c.close(fd)
        return -e
      }
      return fd
    },
    connect(fd, address) {
      return c.connect(fd, address, address.length) === 0 ? 0 : -errno()
    },
    socketError(fd) {
      optLength[0] = 4
      if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, optValue, optLength) !== 0) return errno()
      return optValue.readInt32LE(0)
    },
    recv(fd) {
      msgView.setBigUint64(40, CONTROL_LENGTH, true)
      const n = Number(c.recvmsg(fd, msg, MSG_DONTWAIT))
      if (n <= 0) return { n: n < 0 ? -errno() : 0, data: null, stampS: 0, stampNsPart: 0, stamped: false }
      const out = Buffer.allocUnsafe(n)
      out.set(dataView.subarray(0, n))
      // One cmsghdr (len u64, level i32, type i32) then struct timespec (sec i64, nsec i64).
      const controlLength = Number(msgView.getBigUint64(40, true))
      const stamped = controlLength >= 32 && controlView.getInt32(8, true) === SOL_SOCKET && controlView.getInt32(12, true) === SO_TIMESTAMPNS
      return {
        n,
        data: out,
        stampS: stamped ? Number(controlView.getBigInt64(16, true)) : 0,
        stampNsPart: stamped ? Number(controlView.getBigInt64(24, true)) : 0,
        stamped,
      }
    },
    send(fd, buf, offset) {
      const n = Number(c.send(fd, offset === 0 ? buf : buf.subarray(offset), buf.length - offset, MSG_DONTWAIT | MSG_NOSIGNAL))
      return n < 0 ? -errno() : n
    },
    shutdownWrite(fd) {
      c.shutdown(fd, SHUT_WR)
    },
    close(fd) {
      c.close(fd)
    },
    realtime() {
      c.clockGettime(CLOCK_REALTIME, timespec)
      return [Number(timespec.readBigInt64LE(0)), Number(timespec.readBigInt64LE(8))]
    },
    poll(fd) {
      return k.node.poll(fd, { readable: false }, () => undefined) as unknown as PollHandle
    },
  }
  // A socket that cannot take SO_TIMESTAMPNS (a seccomp filter, an old kernel) is found here, once.
  const probe = binding.open(AF_INET)
  if (probe < 0) return `a socket with SO_TIMESTAMPNS could not be opened (${errnoName(-probe)})`
  binding.close(probe)
  return binding
}
