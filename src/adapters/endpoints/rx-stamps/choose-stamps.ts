import type { buildConnector } from 'undici'
import { ConfigError } from '../../../core/errors.js'
import type { ChunkTimestamps, Clock } from '../../../core/ports.js'
import { stampedConnector } from './stamped-connector.js'

/** `auto`: kernel receive stamps where possible; `kernel`: those or an error; `read`: stamped when read. */
export type ChunkStampMode = 'auto' | 'kernel' | 'read'

const KERNEL_INCLUDES = 'loopback or network transit up to the host\'s TCP stack; not kernel delivery to user space, event-loop delay or parsing'
const READ_INCLUDES = 'loopback or network transit, kernel delivery to user space and any event-loop delay; not SSE parsing (stamped before it)'

/**
 * The connector a client's pool uses and what its summary says about chunk stamps: kernel receive
 * time (`kernel-rx`) for plain HTTP where the host allows it, else the time undici hands over each
 * read (`http-read`), with the reason.
 */
export function chooseStamps(
  mode: ChunkStampMode,
  origin: string,
  clock: Clock,
  connectMs: number,
  tcpConnect: buildConnector.connector,
): { readonly timestamps: ChunkTimestamps; readonly connect: buildConnector.connector } {
  const read = (fallback: string | null): { timestamps: ChunkTimestamps; connect: buildConnector.connector } => ({
    timestamps: { source: 'http-read', clock: 'monotonic', includes: READ_INCLUDES, ...(fallback !== null ? { fallback } : {}) },
    connect: tcpConnect,
  })
  if (mode === 'read') return read('asked for (chunkStamps: read)')
  const stamped = origin.startsWith('https:')
    ? 'an https endpoint: TLS records are decrypted in user space, after the kernel\'s stamp'
    : stampedConnector(clock, { timeoutMs: connectMs }, tcpConnect)
  if (typeof stamped !== 'string') return { timestamps: { source: 'kernel-rx', clock: 'monotonic', includes: KERNEL_INCLUDES }, connect: stamped }
  if (mode === 'kernel') throw new ConfigError(`chunkStamps: kernel is not possible here: ${stamped}`, { hint: 'use --chunk-stamps auto (target.chunkStamps: auto) for kernel stamps where possible, or read' })
  return read(stamped)
}
