import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import { parseAllDocuments } from 'yaml'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

/**
 * `tokenwatt k8s job` prints manifests that the Kubernetes OpenAPI schemas accept (kubernetes-models
 * 4.5.1 validators), and whose commands, run as the pods would run them, give one merged run.
 */
let dir: string
let mock: MockServer
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-k8s-'))
  mock = await startMockServer({ port: 0, ttftMs: 10, itlMs: 2 })
})
after(async () => {
  await mock.close()
})

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown }

function validate(o: Obj): void {
  if (o.kind === 'Job') new Job(o).validate()
  else if (o.kind === 'ConfigMap') new ConfigMap(o).validate()
  else if (o.kind === 'PersistentVolumeClaim') new PersistentVolumeClaim(o).validate()
  else assert.fail(`unexpected kind ${o.kind}`)
}

async function manifests(config: string, extra: string[] = []): Promise<{ code: number; stderr: string; objects: Obj[] }> {
  const cfg = join(dir, 'bench.yaml')
  writeFileSync(cfg, config)
  const r = await runCli(['k8s', 'job', '-c', cfg, '--shards', '3', ...extra], { cwd: dir })
  return { code: r.code, stderr: r.stderr, objects: r.code === 0 ? parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj) : [] }
}

const benchYaml = (endpoint: string): string => `target:\n  endpoint: ${endpoint}\nload:\n  type: closed-loop\n  concurrency: 3\nstop:\n  requests: 12\nworkload:\n  output: 8\n  tokenizer: estimate\n`

test('the printed manifests pass the Kubernetes schemas; the validator rejects a broken one', async () => {
  const { code, stderr, objects } = await manifests(benchYaml(mock.baseUrl), ['--namespace', 'bench', '--env-secret', 'llm-keys', '--start-at', '2030-01-01T00:00:00Z'])
  assert.equal(code, 0, stderr)
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['ConfigMap/tokenwatt-config', 'PersistentVolumeClaim/tokenwatt-results', 'Job/tokenwatt', 'Job/tokenwatt-merge'])
  for (const o of objects) validate(o)
  const job = objects[2] as Obj & { spec: { completionMode: string; completions: number; parallelism: number; template: { spec: { containers: { args: string[]; envFrom: unknown[] }[] } } } }
  assert.equal(job.spec.completionMode, 'Indexed')
  assert.equal(job.spec.completions, 3)
  assert.equal(job.spec.parallelism, 3)
  const args = job.spec.template.spec.containers[0]?.args ?? []
  assert.equal(args[args.indexOf('--shard') + 1], '$(SHARD_INDEX)/3')
  assert.equal(args[args.indexOf('--start-at') + 1], '2030-01-01T00:00:00.000Z')
  assert.deepEqual(job.spec.template.spec.containers[0]?.envFrom, [{ secretRef: { name: 'llm-keys' } }])
  assert.equal((objects[0] as Obj & { data: Record<string, string> }).data['bench.yaml'], benchYaml(mock.baseUrl))
  // the same validator does fail: a Job whose completion mode Kubernetes does not know
  const broken = structuredClone(job)
  broken.spec.completionMode = 'Striped'
  assert.throws(() => validate(broken), /completionMode/)
})

test('run as the pods would (index substituted, volumes as folders), the shards and the merge step give one run', async () => {
  const startAt = new Date(Date.now() + 4000).toISOString()
  const { objects } = await manifests(benchYaml(mock.baseUrl), ['--start-at', startAt])
  const configDir = join(dir, 'etc')
  const results = join(dir, 'results')
  mkdirSync(configDir, { recursive: true })
  writeFileSync(join(configDir, 'bench.yaml'), (objects[0] as Obj & { data: Record<string, string> }).data['bench.yaml'] as string)
  const local = (a: string): string => a.replace('/etc/tokenwatt', configDir).replace('/results', results)
  const job = objects[2] as Obj & { spec: { template: { spec: { containers: { command: string[]; args: string[] }[] } } } }
  const container = job.spec.template.spec.containers[0]
  assert.deepEqual(container?.command, ['npx'])
  const benchArgs = (container?.args ?? []).slice((container?.args ?? []).indexOf('bench'))
  const runs = await Promise.all([0, 1, 2].map((i) => runCli(benchArgs.map((a) => local(a.replaceAll('$(SHARD_INDEX)', String(i)))), { cwd: dir })))
  for (const r of runs) assert.equal(r.code, 0, r.stderr)
  const merge = objects[3] as Obj & { spec: { template: { spec: { containers: { command: string[] }[] } } } }
  const script = merge.spec.template.spec.containers[0]?.command[2] ?? ''
  const mergeArgs = script.slice(script.indexOf('exec ') + 5).split(' ')
  const m = await runCli(mergeArgs.slice(mergeArgs.indexOf('merge')).map(local), { cwd: dir })
  assert.equal(m.code, 0, m.stderr)
  const s = JSON.parse(readFileSync(join(results, 'merged', 'summary.json'), 'utf8')) as RunSummary
  assert.equal(s.requests.total, 12)
  assert.equal(s.requests.failed, 0)
  assert.equal(s.load.concurrency, 3)
})

test('a config the pods cannot run is refused when the manifests are made', async () => {
  const noEndpoint = await manifests('load:\n  type: closed-loop\n  concurrency: 3\nstop:\n  requests: 3\n')
  assert.equal(noEndpoint.code, 2)
  assert.match(noEndpoint.stderr, /target.endpoint is required for a cluster run/)
  const perShard = await manifests(`${benchYaml(mock.baseUrl)}shard:\n  index: 0\n  count: 2\n`)
  assert.equal(perShard.code, 2)
  assert.match(perShard.stderr, /shard: set per shard by the job/)
  const tooFewUsers = await manifests(benchYaml(mock.baseUrl).replace('concurrency: 3', 'concurrency: 2'))
  assert.equal(tooFewUsers.code, 2)
  assert.match(tooFewUsers.stderr, /2 users cannot be split over 3 shards/)
})
