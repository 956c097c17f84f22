import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { stringify } from 'yaml'
import { BenchConfigSchema } from '../../core/config/bench-schema.js'
import { ConfigError } from '../../core/errors.js'
import { indexedJobManifests } from '../../core/k8s/indexed-job.js'
import type { CliContext } from '../cli-context.js'
import { readConfigFile, resolveConfig } from '../config/load-config.js'
import { durationS, positiveInt } from '../parse-args.js'
import { VERSION } from '../version.js'

const DEFAULT_IMAGE = 'node:20-bookworm-slim'
/** Keys the job sets per shard; a config file holding them would fight the flags. */
const PER_SHARD_KEYS = ['shard', 'startAt', 'store'] as const

export function registerK8s(program: Command, ctx: CliContext): void {
  const k8s = program.command('k8s').description('Kubernetes manifests that run a benchmark from many pods')
  k8s
    .command('job')
    .description('Print a ConfigMap, a results volume claim, an Indexed Job of N `bench --shard i/N` pods and a merge Job (kubectl apply -f -)')
    .requiredOption('-c, --config <file>', 'bench config (YAML) every shard runs; it must name target.endpoint')
    .requiredOption('--shards <n>', 'pods that share the load (the Job\'s completions and parallelism)', positiveInt)
    .option('--name <name>', 'name of the Job and prefix of the other objects', 'tokenwatt')
    .option('--namespace <ns>', 'namespace of every object (default: kubectl\'s current one)')
    .option('--start-at <time>', 'ISO 8601 time the shards start their load at (default: now + --start-in)')
    .option('--start-in <time>', 'with no --start-at: how far ahead of now the load starts (pods must be running and warmed up by then)', durationS, 300)
    .option('--image <image>', `container image (default ${DEFAULT_IMAGE}, running tokenwatt@${VERSION} through npx)`)
    .option('--command <cmd>', 'how the image runs tokenwatt, split on spaces (default: `tokenwatt` with --image, else `npx --yes tokenwatt@VERSION`)')
    .option('--results-claim <name>', 'an existing ReadWriteMany PersistentVolumeClaim for the results (default: one is made)')
    .option('--results-size <size>', 'size of the results claim made here', '1Gi')
    .option('--storage-class <name>', 'storage class of the results claim made here (it must offer ReadWriteMany)')
    .option('--env-secret <name>', 'Secret whose keys become environment variables of the shards (API key, BMC passwords)')
    .option('--merge-deadline <time>', 'longest the merge Job waits for every shard', durationS, 3600)
    .action((opts: Record<string, unknown>) => {
      const file = readConfigFile(opts.config as string, ctx.host.cwd)
      const data = file.data as Record<string, unknown>
      for (const key of PER_SHARD_KEYS) {
        if (data[key] !== undefined) throw new ConfigError(`${opts.config as string}: ${key}: set per shard by the job`, { hint: `remove ${key} from the file; tokenwatt k8s job passes it to each pod` })
      }
      const shards = opts.shards as number
      // validated as shard 0 would run it, so a config that cannot be split fails here, not in the pods
      const config = resolveConfig(BenchConfigSchema, file, { shard: { index: 0, count: shards } }, 'see docs/config.md')
      if (config.target.endpoint === undefined) throw new ConfigError(`${opts.config as string}: target.endpoint is required for a cluster run`, { hint: 'the pods load a server you already run; name its URL (a Service such as http://vllm.default.svc:8000)' })
      if (config.workload.dataset !== undefined || config.workload.trace !== undefined) {
        ctx.host.stderr.write('warning: the dataset/trace path is read inside each pod: mount the file there (e.g. on the results volume) or bake it into the image\n')
      }
      let startAt: string
      if (typeof opts.startAt === 'string') {
        const ms = Date.parse(opts.startAt)
        if (!Number.isFinite(ms)) throw new ConfigError(`--start-at: not an ISO 8601 time: ${opts.startAt}`, { hint: 'e.g. 2026-12-06T14:00:00Z' })
        startAt = new Date(ms).toISOString()
      } else {
        startAt = new Date(Date.now() + (opts.startIn as number) * 1000).toISOString()
      }
      const image = typeof opts.image === 'string' ? opts.image : DEFAULT_IMAGE
      const command = typeof opts.command === 'string' ? opts.command.split(/\s+/).filter(Boolean) : typeof opts.image === 'string' ? ['tokenwatt'] : ['npx', '--yes', `tokenwatt@${VERSION}`]
      const objects = indexedJobManifests({
        name: opts.name as string,
        namespace: typeof opts.namespace === 'string' ? opts.namespace : null,
        shards,
        configYaml: readFileSync(resolve(ctx.host.cwd, opts.config as string), 'utf8'),
        startAt,
        image,
        command,
        resultsClaim: typeof opts.resultsClaim === 'string' ? opts.resultsClaim : null,
        resultsSize: opts.resultsSize as string,
        storageClass: typeof opts.storageClass === 'string' ? opts.storageClass : null,
        envSecret: typeof opts.envSecret === 'string' ? opts.envSecret : null,
        mergeDeadlineS: Math.round(opts.mergeDeadline as number),
      })
      const head = [
        `# tokenwatt ${VERSION}: ${shards} shards of ${opts.config as string}, load starting at ${startAt}`,
        '# apply: kubectl apply -f THIS.yaml   then: kubectl wait --for=condition=complete job/' + `${opts.name as string}-merge --timeout=-1s`,
        `# results: /results/merged on the claim (summary.json, merge.json, report.html, tokenwatt.db)`,
      ]
      ctx.host.stdout.write(`${head.join('\n')}\n${objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n')}`)
    })
}
