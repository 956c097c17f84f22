/**
 * An SNMP agent on 127.0.0.1 (net-snmp's own Agent, real UDP) that serves each PDU vendor's tables
 * at their real OIDs with their real scaling (hundredths of kW, tenths of kWh, Wh, Raritan decimal
 * digits and timestamps), values following a scripted power trace at the moment of each GET.
 * v2c community `public` and an SNMPv3 authPriv user.
 */
import { createSocket } from 'node:dgram'
import snmp from 'net-snmp'
import type { Trace } from './redfish-fake.js'
import { wallMs } from './redfish-fake.js'

export const V3_USER = { name: 'tokenwatt', authKey: 'auth-key-0123', privKey: 'priv-key-4567' }

export interface FakeAgent {
  readonly port: number
  /** Every value served: OID, the wall time it was read (ms), the raw value. */
  readonly reads: { readonly oid: string; readonly wallMs: number; readonly value: number | string }[]
  close(): Promise<void>
}

type Raw = number | string
type Column = { readonly number: number; readonly type: snmp.ObjectType; readonly value: (row: readonly number[], tMs: number) => Raw }

/** A free UDP port on loopback (the agent takes a fixed port). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
  const port = s.address().port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

export interface FakeAgentOptions {
  readonly trace: Trace
  /** Raritan: decimal digits of active power and active energy. */
  readonly raritanPowerDigits?: number
  readonly raritanEnergyDigits?: number
  /** Raritan: the inlet energy meter's raw value at its first read (to start near the 2^32 wrap). */
  readonly raritanEnergyStartRaw?: number
  /** Energy (J) already on every meter at the trace's origin. */
  readonly energyOffsetJ?: number
  readonly originMs: number
}

export async function startFakeAgent(o: FakeAgentOptions): Promise<FakeAgent> {
  const port = await freeUdpPort()
  const agent = snmp.createAgent({ port, address: '127.0.0.1', disableAuthorization: false }, () => undefined)
  const auth = agent.getAuthorizer()
  auth.addCommunity('public')
  auth.addUser({
    name: V3_USER.name,
    level: snmp.SecurityLevel.authPriv,
    authProtocol: snmp.AuthProtocols.sha,
    authKey: V3_USER.authKey,
    privProtocol: snmp.PrivProtocols.aes,
    privKey: V3_USER.privKey,
  })
  const mib = agent.getMib()
  const reads: FakeAgent['reads'] = []
  const P = (t: number): number => o.trace.powerW(t)
  const E = (t: number): number => (o.energyOffsetJ ?? 0) + o.trace.energyJ(o.originMs, t)

  let n = 0
  /** A table at `entryOid` indexed by `indexCount` integers; each value computed at read time. */
  const table = (entryOid: string, indexCount: number, columns: Column[], rows: number[][]): void => {
    const name = `t${n++}`
    const byNumber = new Map(columns.map((c) => [c.number, c]))
    mib.registerProvider({
      name,
      type: snmp.MibProviderType.Table,
      oid: entryOid,
      maxAccess: snmp.MaxAccess['not-accessible'],
      tableColumns: [
        ...Array.from({ length: indexCount }, (_, i) => ({ number: 200 + i, name: `${name}i${i}`, type: snmp.ObjectType.Integer, maxAccess: snmp.MaxAccess['not-accessible'] })),
        ...columns.map((c) => ({ number: c.number, name: `${name}c${c.number}`, type: c.type, maxAccess: snmp.MaxAccess['read-only'] })),
      ],
      tableIndex: Array.from({ length: indexCount }, (_, i) => ({ columnName: `${name}i${i}` })),
      handler: (req: { oid: string; instanceNode: { value: unknown }; done: () => void }) => {
        const rest = req.oid.slice(entryOid.length + 1).split('.').map(Number)
        const col = byNumber.get(rest[0]!)
        if (col !== undefined) {
          const t = wallMs()
          const v = col.value(rest.slice(1), t)
          req.instanceNode.value = v
          reads.push({ oid: req.oid, wallMs: t, value: v })
        }
        req.done()
      },
    })
    for (const r of rows) mib.addTableRow(name, [...r, ...columns.map((c) => (c.type === snmp.ObjectType.OctetString ? '' : 0))])
  }
  const I = snmp.ObjectType.Integer
  const G = snmp.ObjectType.Gauge

  // APC PowerNet-MIB rPDU2: device power in hundredths of kW, energy in tenths of kWh.
  const apc = '1.3.6.1.4.1.318.1.1.26'
  table(`${apc}.4.3.1`, 1, [
    { number: 5, type: I, value: (_r, t) => Math.round(P(t) / 10) },
    { number: 9, type: I, value: (_r, t) => Math.floor(E(t) / 360_000) },
    { number: 10, type: snmp.ObjectType.OctetString, value: () => '05/30/2011 00:12:17' },
  ], [[1]])
  table(`${apc}.6.3.1`, 1, [{ number: 7, type: I, value: (_r, t) => Math.round(P(t) / 3 / 10) }], [[1], [2], [3]])
  // Outlet 1 and 2 share the load; outlet 3 is on a model without outlet metering (-1).
  table(`${apc}.9.4.3.1`, 1, [
    { number: 7, type: I, value: (r, t) => (r[0] === 3 ? -1 : Math.round(P(t) / 2)) },
    { number: 11, type: I, value: (r, t) => (r[0] === 3 ? -1 : Math.floor(E(t) / 2 / 360_000)) },
  ], [[1], [2], [3]])

  // Raritan PDU2-MIB: value tables indexed {pdu, inlet|outlet, sensorType}; 5 = activePower (W), 8 = activeEnergy (Wh).
  const rar = '1.3.6.1.4.1.13742.6'
  const pd = o.raritanPowerDigits ?? 0
  const ed = o.raritanEnergyDigits ?? 0
  const digits = (r: readonly number[]): number => (r[2] === 5 ? pd : ed)
  // With a start value, the meter reads `startRaw` at its first GET and counts up (and over 2^32) from there.
  const rarValue = (share: number, startRaw: number | undefined) => {
    let firstJ: number | undefined
    return (r: readonly number[], t: number): number => {
      if (r[2] === 5) return Math.round(P(t) * share * 10 ** pd)
      if (startRaw === undefined) return Math.floor(((E(t) * share) / 3600) * 10 ** ed) % 2 ** 32
      firstJ ??= E(t)
      return (startRaw + Math.floor((((E(t) - firstJ) * share) / 3600) * 10 ** ed)) % 2 ** 32
    }
  }
  table(`${rar}.3.3.4.1`, 3, [{ number: 7, type: G, value: digits }], [[1, 1, 5], [1, 1, 8]])
  table(`${rar}.5.2.3.1`, 3, [
    { number: 4, type: G, value: rarValue(1, o.raritanEnergyStartRaw) },
    { number: 5, type: G, value: (_r, t) => Math.floor(t / 1000) },
  ], [[1, 1, 5], [1, 1, 8]])
  table(`${rar}.3.5.4.1`, 3, [{ number: 7, type: G, value: digits }], [[1, 3, 5], [1, 3, 8], [1, 4, 5], [1, 4, 8]])
  table(`${rar}.5.4.3.1`, 3, [
    { number: 4, type: G, value: rarValue(0.5, undefined) },
    { number: 5, type: G, value: (_r, t) => Math.floor(t / 1000) },
  ], [[1, 3, 5], [1, 3, 8], [1, 4, 5], [1, 4, 8]])

  // ServerTech Sentry4: cord power W, cord energy tenths of kWh; outlet power W, outlet energy Wh.
  const st4 = '1.3.6.1.4.1.1718.4.1'
  table(`${st4}.3.3.1`, 2, [
    { number: 3, type: I, value: (_r, t) => Math.round(P(t)) },
    { number: 10, type: I, value: (_r, t) => Math.floor(E(t) / 360_000) },
  ], [[1, 1]])
  table(`${st4}.8.3.1`, 3, [
    { number: 7, type: I, value: (_r, t) => Math.round(P(t) / 4) },
    { number: 14, type: I, value: (_r, t) => Math.floor(E(t) / 4 / 3600) },
  ], [[1, 1, 1], [1, 1, 2], [1, 1, 3], [1, 1, 4]])

  // Eaton ePDU: strapping index 0; input total W and Wh; input power rows 1–3 = phases, 4 = total.
  const eaton = '1.3.6.1.4.1.534.6.6.7'
  table(`${eaton}.3.5.1`, 2, [
    { number: 4, type: I, value: (_r, t) => Math.round(P(t)) },
    { number: 5, type: G, value: (_r, t) => Math.floor(E(t) / 3600) },
  ], [[0, 1]])
  table(`${eaton}.3.4.1`, 3, [
    { number: 2, type: I, value: (r) => (r[2] === 4 ? 4 : r[2]!) },
    { number: 4, type: I, value: (r, t) => Math.round(r[2] === 4 ? P(t) : P(t) / 3) },
    { number: 5, type: G, value: (r, t) => Math.floor((r[2] === 4 ? E(t) : E(t) / 3) / 3600) },
  ], [[0, 1, 1], [0, 1, 2], [0, 1, 3], [0, 1, 4]])
  table(`${eaton}.6.5.1`, 2, [
    { number: 3, type: I, value: (_r, t) => Math.round(P(t) / 2) },
    { number: 4, type: G, value: (_r, t) => Math.floor(E(t) / 2 / 3600) },
  ], [[0, 1], [0, 2]])

  mib.registerProvider({ name: 'sysDescr', type: snmp.MibProviderType.Scalar, oid: '1.3.6.1.2.1.1.1', scalarType: snmp.ObjectType.OctetString, maxAccess: snmp.MaxAccess['read-only'] })
  mib.setScalarValue('sysDescr', 'tokenwatt test agent (net-snmp)')

  return {
    port,
    reads,
    close: () => new Promise<void>((resolve) => agent.close(() => resolve())),
  }
}
