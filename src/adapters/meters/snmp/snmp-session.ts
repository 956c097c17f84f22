import snmp from 'net-snmp'
import type { SnmpPduOptions } from '../../../core/config/meters-remote-schema.js'

/**
 * A promise-shaped SNMP GET over net-snmp (v2c community or v3 user), returning every OID's value
 * as a number, a string or null (absent: `noSuchObject`, `noSuchInstance`, `endOfMibView`).
 * Counter64 arrives from net-snmp as a big-endian Buffer and is converted here.
 */
export type SnmpValue = number | string | null

/** What the session needs besides the options: the secrets, already read from the environment. */
export interface SnmpSecrets {
  readonly community: string
  readonly authKey?: string
  readonly privKey?: string
}

/** Most varbinds per GET: PDUs answer large requests slowly or with `tooBig`. */
const MAX_VARBINDS = 24

export class SnmpGetter {
  private readonly session: snmp.Session

  constructor(o: SnmpPduOptions, secrets: SnmpSecrets) {
    const common = { port: o.port, timeout: o.timeoutMs, retries: o.retries }
    if (o.version === '3' && o.v3 !== undefined) {
      const u = o.v3
      const level = snmp.SecurityLevel[u.level]
      this.session = snmp.createV3Session(
        o.host,
        {
          name: u.name,
          level,
          ...(level !== snmp.SecurityLevel.noAuthNoPriv ? { authProtocol: snmp.AuthProtocols[u.authProtocol], authKey: secrets.authKey ?? '' } : {}),
          ...(level === snmp.SecurityLevel.authPriv ? { privProtocol: snmp.PrivProtocols[u.privProtocol], privKey: secrets.privKey ?? '' } : {}),
        },
        { ...common, version: snmp.Version3 },
      )
    } else {
      this.session = snmp.createSession(o.host, secrets.community, { ...common, version: snmp.Version2c })
    }
    // A late UDP error (ICMP port unreachable) must not crash the process; the pending GET times out.
    this.session.on('error', () => undefined)
  }

  async get(oids: readonly string[]): Promise<Map<string, SnmpValue>> {
    const out = new Map<string, SnmpValue>()
    for (let i = 0; i < oids.length; i += MAX_VARBINDS) {
      const chunk = oids.slice(i, i + MAX_VARBINDS)
      const varbinds = await new Promise<snmp.Varbind[]>((resolve, reject) => {
        this.session.get([...chunk], (err, vbs) => (err ? reject(err) : resolve(vbs ?? [])))
      })
      chunk.forEach((oid, k) => out.set(oid, valueOf(varbinds[k])))
    }
    return out
  }

  close(): void {
    try {
      this.session.close()
    } catch {
      // already closed
    }
  }
}

function valueOf(vb: snmp.Varbind | undefined): SnmpValue {
  if (vb === undefined || snmp.isVarbindError(vb)) return null
  const v: unknown = vb.value
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (Buffer.isBuffer(v)) {
    if (vb.type === snmp.ObjectType.Counter64) {
      let n = 0n
      for (const byte of v) n = (n << 8n) | BigInt(byte)
      return Number(n)
    }
    return v.toString('utf8')
  }
  if (typeof v === 'string') return v
  return null
}

/** A number from a value, or null. */
export function numeric(v: SnmpValue | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}
