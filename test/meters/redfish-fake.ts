/**
 * A Redfish service on 127.0.0.1 over real HTTPS, with a certificate made by `openssl` at test time.
 * It serves resources in the shapes of the DMTF mockups (public-acd, public-rackmount1, public-pdu)
 * — our own fixtures, not copies — with Basic and session authentication, 401s, session expiry and
 * logout, and readings that follow a scripted power trace of wall-clock time, so energy can be
 * checked against the trace's exact integral.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

export interface TestCert {
  readonly dir: string
  readonly certFile: string
  readonly keyFile: string
  readonly cert: string
  readonly key: string
  /** SHA-256 fingerprint, colon-separated upper-case hex (as `openssl x509 -fingerprint` prints it). */
  readonly fingerprint256: string
  cleanup(): void
}

/** A fresh self-signed P-256 certificate for `localhost` / 127.0.0.1, valid one day. */
export function makeTestCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'tw-redfish-cert-'))
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-subj', '/CN=localhost', '-days', '1',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'pipe' })
  const fp = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' })
  const fingerprint256 = (/=([0-9A-F:]+)/.exec(fp)?.[1] ?? '').trim()
  return {
    dir, certFile, keyFile, fingerprint256,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** Wall-clock ms, the same base the NodeClock uses. */
export const wallMs = (): number => performance.timeOrigin + performance.now()

/** A power trace: watts at wall time t, and its exact integral (J) from `t0` to `t`. */
export interface Trace {
  powerW(tMs: number): number
  energyJ(t0Ms: number, tMs: number): number
}

/** 500 W plus a 200 W/s ramp that resets every 2 s: a sawtooth between 500 and 900 W. */
export function sawtooth(originMs: number): Trace {
  const periodS = 2
  const slope = 200
  const phaseS = (tMs: number): number => {
    const s = (tMs - originMs) / 1000
    return s - Math.floor(s / periodS) * periodS
  }
  const p = (tMs: number): number => 500 + slope * phaseS(tMs)
  const cycleJ = 500 * periodS + (slope * periodS * periodS) / 2
  const cum = (tMs: number): number => {
    const s = (tMs - originMs) / 1000
    const k = Math.floor(s / periodS)
    const r = s - k * periodS
    return k * cycleJ + 500 * r + (slope * r * r) / 2
  }
  return { powerW: p, energyJ: (t0, t) => cum(t) - cum(t0) }
}

export type Shape = 'acd' | 'psu-only' | 'legacy-only' | 'sensors-only' | 'pdu'

export interface FakeRedfishOptions {
  readonly cert: TestCert
  readonly shape: Shape
  readonly user: string
  readonly password: string
  readonly trace: Trace
  /** Energy counter value at the trace's origin (J), so counters do not start at 0. */
  readonly energyOffsetJ?: number
  /** Refuse Basic auth (some services only allow sessions). */
  readonly sessionOnly?: boolean
}

export interface FakeRedfish {
  readonly url: string
  readonly port: number
  /** Sessions alive now, by token. */
  readonly sessions: Map<string, string>
  /** Every request as `METHOD path auth` (auth: basic | token | none). */
  readonly log: string[]
  /** When (wall ms) each resource was read, for checking where the meter puts its samples in time. */
  readonly reads: { readonly path: string; readonly wallMs: number; readonly body: Record<string, unknown> }[]
  /** Drops every session, as a BMC does on timeout: the next request gets 401. */
  expireSessions(): void
  close(): Promise<void>
}

type Json = Record<string, unknown>
const id = (p: string): Json => ({ '@odata.id': p })
const collection = (paths: string[]): Json => ({ Members: paths.map(id), 'Members@odata.count': paths.length })

/** The resource tree of each shape, as functions of the reading time. */
function resources(o: FakeRedfishOptions): (path: string, nowMs: number) => Json | undefined {
  const p = (t: number): number => Math.round(o.trace.powerW(t) * 100) / 100
  const ej = (t: number): number => (o.energyOffsetJ ?? 0) + o.trace.energyJ(originOf(o), t)
  const iso = (t: number): string => new Date(t).toISOString()
  const root: Json = {
    '@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot',
    Id: 'RootService',
    RedfishVersion: '1.17.0',
    SessionService: id('/redfish/v1/SessionService'),
    Links: { Sessions: id('/redfish/v1/SessionService/Sessions') },
  }
  const tree = new Map<string, (t: number) => Json>()
  const add = (path: string, f: (t: number) => Json): void => void tree.set(path, f)
  if (o.shape === 'pdu') {
    root.PowerEquipment = id('/redfish/v1/PowerEquipment')
    add('/redfish/v1/PowerEquipment', () => ({ RackPDUs: id('/redfish/v1/PowerEquipment/RackPDUs') }))
    add('/redfish/v1/PowerEquipment/RackPDUs', () => collection(['/redfish/v1/PowerEquipment/RackPDUs/1']))
    add('/redfish/v1/PowerEquipment/RackPDUs/1', () => ({
      '@odata.type': '#PowerDistribution.v1_3_0.PowerDistribution', Id: '1', EquipmentType: 'RackPDU',
      Mains: id('/redfish/v1/PowerEquipment/RackPDUs/1/Mains'),
      Outlets: id('/redfish/v1/PowerEquipment/RackPDUs/1/Outlets'),
      Metrics: id('/redfish/v1/PowerEquipment/RackPDUs/1/Metrics'),
    }))
    add('/redfish/v1/PowerEquipment/RackPDUs/1/Mains', () => collection(['/redfish/v1/PowerEquipment/RackPDUs/1/Mains/AC1']))
    add('/redfish/v1/PowerEquipment/RackPDUs/1/Mains/AC1', (t) => ({
      '@odata.type': '#Circuit.v1_7_0.Circuit', Id: 'AC1', PhaseWiringType: 'OnePhase3Wire',
      PowerWatts: { Reading: p(t) + 120, ApparentVA: p(t) + 125, PowerFactor: 0.98 },
      EnergykWh: { Reading: 36166 },
    }))
    // Three outlets: A1 and A2 feed the server under test (half the trace each), A3 something else.
    add('/redfish/v1/PowerEquipment/RackPDUs/1/Outlets', () =>
      collection(['A1', 'A2', 'A3'].map((x) => `/redfish/v1/PowerEquipment/RackPDUs/1/Outlets/${x}`)))
    for (const [name, share] of [['A1', 0.5], ['A2', 0.5]] as const) {
      add(`/redfish/v1/PowerEquipment/RackPDUs/1/Outlets/${name}`, (t) => ({
        '@odata.type': '#Outlet.v1_4_4.Outlet', Id: name, PowerState: 'On',
        PowerWatts: { Reading: Math.round(p(t) * share * 100) / 100, PowerFactor: 0.99 },
        EnergykWh: { Reading: 361 },
      }))
    }
    add('/redfish/v1/PowerEquipment/RackPDUs/1/Outlets/A3', () => ({ Id: 'A3', PowerWatts: { Reading: 120 }, EnergykWh: { Reading: 12 } }))
    add('/redfish/v1/PowerEquipment/RackPDUs/1/Metrics', (t) => ({ PowerWatts: { Reading: p(t) + 120 }, EnergykWh: { Reading: 36166 } }))
    return (path, t) => (path === '/redfish/v1' ? root : tree.get(path)?.(t))
  }

  root.Chassis = id('/redfish/v1/Chassis')
  const chassisId = o.shape === 'acd' ? '1U' : o.shape === 'psu-only' ? 'Self' : o.shape === 'legacy-only' ? 'System.Embedded.1' : 'Enclosure'
  const c = `/redfish/v1/Chassis/${chassisId}`
  const chassisList = [c]
  const chassis: Json = { '@odata.type': '#Chassis.v1_23_0.Chassis', Id: chassisId, ChassisType: 'RackMount', Links: {} }
  if (o.shape === 'acd') {
    // A GPU baseboard inside the server with its own (smaller) power: must never be added to 1U's.
    const gpu = '/redfish/v1/Chassis/HGX_Baseboard_0'
    chassisList.push(gpu)
    ;(chassis.Links as Json).Contains = [id(gpu)]
    add(gpu, () => ({ Id: 'HGX_Baseboard_0', ChassisType: 'Module', Links: { ContainedBy: id(c) }, EnvironmentMetrics: id(`${gpu}/EnvironmentMetrics`) }))
    add(`${gpu}/EnvironmentMetrics`, (t) => ({ PowerWatts: { Reading: p(t) * 0.6 }, EnergyJoules: { Reading: ej(t) * 0.6 } }))
    chassis.EnvironmentMetrics = id(`${c}/EnvironmentMetrics`)
    add(`${c}/EnvironmentMetrics`, (t) => ({
      '@odata.type': '#EnvironmentMetrics.v1_5_0.EnvironmentMetrics',
      PowerWatts: { Reading: p(t), DataSourceUri: `${c}/Sensors/TotalPower` },
      EnergyJoules: { Reading: Math.round(ej(t) * 1000) / 1000, DataSourceUri: `${c}/Sensors/TotalEnergy` },
      EnergykWh: { Reading: Math.floor(ej(t) / 3.6e6) },
    }))
  }
  if (o.shape === 'acd' || o.shape === 'sensors-only') {
    chassis.Sensors = id(`${c}/Sensors`)
    add(`${c}/Sensors`, () => collection(['CPU1Power', 'TotalPower', 'PSU1InputPower', 'TotalEnergy', 'Inlet Temp'].map((s) => `${c}/Sensors/${encodeURIComponent(s)}`)))
    add(`${c}/Sensors/CPU1Power`, (t) => ({ Id: 'CPU1Power', ReadingType: 'Power', Reading: 150, ReadingUnits: 'W', PhysicalContext: 'CPU', ReadingTime: iso(t) }))
    add(`${c}/Sensors/PSU1InputPower`, (t) => ({ Id: 'PSU1InputPower', ReadingType: 'Power', Reading: p(t) / 2, ReadingUnits: 'W', PhysicalContext: 'PowerSupply', ElectricalContext: 'Line1' }))
    add(`${c}/Sensors/TotalPower`, (t) => ({
      '@odata.type': '#Sensor.v1_12_0.Sensor', Id: 'TotalPower', ReadingType: 'Power', ElectricalContext: 'Total',
      Reading: p(t), ReadingUnits: 'W', Implementation: 'Synthesized', ReadingTime: iso(t), SensingInterval: 'PT0.25S', PhysicalContext: 'Chassis',
    }))
    add(`${c}/Sensors/TotalEnergy`, (t) => ({
      '@odata.type': '#Sensor.v1_12_0.Sensor', Id: 'TotalEnergy', ReadingType: 'EnergyJoules',
      Reading: Math.round(ej(t) * 1000) / 1000, ReadingUnits: 'J', PhysicalContext: 'Chassis', ReadingTime: iso(t),
    }))
    add(`${c}/Sensors/Inlet%20Temp`, () => ({ Id: 'Inlet Temp', ReadingType: 'Temperature', Reading: 24, ReadingUnits: 'Cel' }))
  }
  if (o.shape === 'acd' || o.shape === 'psu-only') {
    chassis.PowerSubsystem = id(`${c}/PowerSubsystem`)
    add(`${c}/PowerSubsystem`, () => ({ CapacityWatts: 2400, PowerSupplies: id(`${c}/PowerSubsystem/PowerSupplies`) }))
    add(`${c}/PowerSubsystem/PowerSupplies`, () => collection(['0', '1', '2'].map((b) => `${c}/PowerSubsystem/PowerSupplies/${b}`)))
    for (const bay of ['0', '1']) {
      add(`${c}/PowerSubsystem/PowerSupplies/${bay}`, () => ({ Id: bay, Status: { State: 'Enabled' }, Metrics: id(`${c}/PowerSubsystem/PowerSupplies/${bay}/Metrics`) }))
      // Input (AC) watts split 40/60 between the two supplies; output is 6 % lower (PSU loss).
      const share = bay === '0' ? 0.4 : 0.6
      add(`${c}/PowerSubsystem/PowerSupplies/${bay}/Metrics`, (t) => ({
        InputPowerWatts: { Reading: Math.round(p(t) * share * 100) / 100 },
        OutputPowerWatts: { Reading: Math.round(p(t) * share * 94) / 100 },
        EnergykWh: { Reading: 1234 },
      }))
    }
    add(`${c}/PowerSubsystem/PowerSupplies/2`, () => ({ Id: '2', Status: { State: 'Absent' } }))
  }
  if (o.shape === 'acd' || o.shape === 'legacy-only') {
    chassis.Power = id(`${c}/Power`)
    add(`${c}/Power`, (t) => ({
      '@odata.type': '#Power.v1_7_3.Power', Id: 'Power',
      PowerControl: [
        { '@odata.id': `${c}/Power#/PowerControl/0`, MemberId: '0', Name: 'System Input Power', PowerConsumedWatts: p(t), PowerCapacityWatts: 800,
          PowerMetrics: { IntervalInMin: 30, MinConsumedWatts: 271, MaxConsumedWatts: 489, AverageConsumedWatts: 319 } },
        { MemberId: '1', Name: 'CPU Sub-system', PowerConsumedWatts: 150 },
      ],
    }))
  }
  add(c, () => chassis)
  add('/redfish/v1/Chassis', () => collection(chassisList))
  return (path, t) => (path === '/redfish/v1' ? root : tree.get(path)?.(t))
}

const origins = new WeakMap<FakeRedfishOptions, number>()
function originOf(o: FakeRedfishOptions): number {
  let t = origins.get(o)
  if (t === undefined) origins.set(o, (t = wallMs()))
  return t
}

export async function startFakeRedfish(o: FakeRedfishOptions): Promise<FakeRedfish> {
  originOf(o)
  const lookup = resources(o)
  const sessions = new Map<string, string>()
  const log: string[] = []
  const reads: FakeRedfish['reads'] = []
  let nextSession = 1
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'odata-version': '4.0', ...headers })
    res.end(JSON.stringify(body))
  }
  const unauthorized = (res: ServerResponse): void =>
    json(res, 401, { error: { code: 'Base.1.8.GeneralError', message: 'unauthorized', '@Message.ExtendedInfo': [{ MessageId: 'Base.1.8.NoValidSession', Message: 'There is no valid session established with the implementation.' }] } }, { 'www-authenticate': 'Basic realm="redfish"' })

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/'
      const basic = req.headers.authorization
      const token = req.headers['x-auth-token']
      log.push(`${req.method} ${path} ${typeof token === 'string' ? 'token' : basic !== undefined ? 'basic' : 'none'}`)
      if (req.method === 'GET' && path === '/redfish/v1') return json(res, 200, lookup(path, wallMs()))
      if (req.method === 'POST' && path === '/redfish/v1/SessionService/Sessions') {
        let creds: Json
        try {
          creds = JSON.parse(body) as Json
        } catch {
          return json(res, 400, { error: { message: 'malformed JSON' } })
        }
        if (creds.UserName !== o.user || creds.Password !== o.password) return unauthorized(res)
        const sid = String(nextSession++)
        const tok = `tok-${sid}-${Math.random().toString(36).slice(2)}`
        sessions.set(tok, sid)
        const loc = `/redfish/v1/SessionService/Sessions/${sid}`
        return json(res, 201, { '@odata.id': loc, Id: sid, UserName: o.user }, { 'x-auth-token': tok, location: loc })
      }
      let authed = false
      if (typeof token === 'string') authed = sessions.has(token)
      else if (basic !== undefined && o.sessionOnly !== true) authed = basic === `Basic ${Buffer.from(`${o.user}:${o.password}`).toString('base64')}`
      if (!authed) return unauthorized(res)
      if (req.method === 'DELETE' && path.startsWith('/redfish/v1/SessionService/Sessions/')) {
        const sid = path.split('/').pop()
        for (const [t, s] of sessions) if (s === sid) sessions.delete(t)
        res.writeHead(204).end()
        return
      }
      const readAtMs = wallMs()
      const resource = req.method === 'GET' ? lookup(path, readAtMs) : undefined
      if (resource === undefined) return json(res, 404, { error: { message: `no resource at ${path}` } })
      reads.push({ path, wallMs: readAtMs, body: resource })
      json(res, 200, { '@odata.id': path, ...resource })
    })
  }
  const server: Server = createServer({ cert: o.cert.cert, key: o.cert.key }, handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    sessions,
    log,
    reads,
    expireSessions: () => sessions.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
