import { lookup } from 'node:dns'
import { isIP, type Socket } from 'node:net'
import type { buildConnector } from 'undici'
import type { Clock } from '../../../core/ports.js'
import { AF_INET, AF_INET6, errnoName, openLibcSocket } from './libc-socket.js'
import { RealtimeBridge } from './realtime-bridge.js'
import { StampedSocket } from './stamped-socket.js'

/** A `sockaddr_in` or `sockaddr_in6` for `address:port`, as `connect` takes it. */
export function sockaddr(address: string, port: number): Buffer {
  if (isIP(address) === 4) {
    const b = Buffer.alloc(16)
    b.writeUInt16LE(AF_INET, 0)
    b.writeUInt16BE(port, 2)
    address.split('.').forEach((octet, i) => b.writeUInt8(Number(octet), 4 + i))
    return b
  }
  const b = Buffer.alloc(28)
  b.writeUInt16LE(AF_INET6, 0)
  b.writeUInt16BE(port, 2)
  expandIPv6(address).forEach((group, i) => b.writeUInt16BE(group, 8 + 2 * i))
  return b
}

/** The eight 16-bit groups of an IPv6 address (`::1`, `fe80::1`, `::ffff:10.0.0.1`); a zone id is dropped. */
function expandIPv6(address: string): number[] {
  let a = address.replace(/%.*$/, '')
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a)
  if (v4 !== null) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number) as [number, number, number, number]
    a = `${a.slice(0, v4.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`
  }
  const [head, tail] = a.includes('::') ? (a.split('::') as [string, string]) : [a, null]
  const left = head === '' ? [] : head.split(':')
  const right = tail === null || tail === '' ? [] : tail.split(':')
  const groups = tail === null ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return groups.map((g) => parseInt(g, 16))
}

/**
 * An undici connector whose plain-HTTP connections are {@link StampedSocket}s, so every chunk carries
 * the kernel's receive time; `https:` goes to `fallback` (a TLS record is decrypted in user space,
 * after the kernel's stamp, so those chunks are stamped when read as before). Returns the reason
 * instead when this host cannot take kernel timestamps.
 */
export function stampedConnector(clock: Clock, options: { readonly timeoutMs: number }, fallback: buildConnector.connector): buildConnector.connector | string {
  const libc = openLibcSocket()
  if (typeof libc === 'string') return libc
  const bridge = new RealtimeBridge(() => libc.realtime(), clock)
  return (opts, callback) => {
    if (opts.protocol !== 'http:') {
      fallback(opts, callback)
      return
    }
    const host = opts.hostname.replace(/^\[|\]$/g, '')
    const port = Number(opts.port !== '' && opts.port !== undefined ? opts.port : 80)
    let settled = false
    let socket: StampedSocket | null = null
    const finish = (err: Error | null): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err !== null) {
        socket?.destroy()
        callback(err, null)
      } else callback(null, socket as unknown as Socket) // undici needs only the Duplex and the methods StampedSocket has
    }
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`Connect Timeout Error (attempted address: ${host}:${port}, timeout: ${options.timeoutMs}ms)`)
      err.code = 'UND_ERR_CONNECT_TIMEOUT'
      err.name = 'ConnectTimeoutError'
      finish(err)
    }, options.timeoutMs)
    lookup(host, (err, address, family) => {
      if (settled) return
      if (err !== null) {
        finish(err)
        return
      }
      const fd = libc.open(family === 6 ? AF_INET6 : AF_INET)
      if (fd < 0) {
        const e: NodeJS.ErrnoException = new Error(`socket ${errnoName(-fd)}`)
        e.code = errnoName(-fd)
        finish(e)
        return
      }
      socket = new StampedSocket(libc, fd, clock, bridge)
      socket.connectTo(sockaddr(address, port), (e) => {
        if (e !== null) e.message = `${e.message} ${address}:${port}` // as net.Socket says it: connect ECONNREFUSED 127.0.0.1:9
        finish(e)
      })
    })
  }
}
