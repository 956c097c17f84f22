/**
 * The Kubernetes objects that run one benchmark as `count` shards on a cluster (batch/v1 Job with
 * `completionMode: Indexed`, stable since Kubernetes 1.24): a ConfigMap with the bench config, a
 * ReadWriteMany PersistentVolumeClaim for the results, the Indexed Job whose pod `i` runs
 * `bench --shard i/count`, and a merge Job that waits for every shard's shard.json on the volume and
 * then runs `tokenwatt merge`. Plain data (apiVersion/kind objects); the CLI prints them as YAML.
 *
 * The pod's index comes from the annotation `batch.kubernetes.io/job-completion-index` through the
 * downward API into SHARD_INDEX, and `$(SHARD_INDEX)` in the args is expanded by the kubelet from the
 * container's environment (Kubernetes docs: "Indexed Job for Parallel Processing with Static Work
 * Assignment", and the container `args` field: "Variable references $(VAR_NAME) are expanded using
 * the container's environment"). The Job controller also sets JOB_COMPLETION_INDEX; the explicit
 * variable keeps the manifest independent of that convenience.
 */
export interface IndexedJobOptions {
  readonly name: string
  readonly namespace: string | null
  readonly shards: number
  /** The bench config file's text, as the user wrote it. */
  readonly configYaml: string
  readonly startAt: string
  readonly image: string
  /** How the container runs tokenwatt, e.g. ['tokenwatt'] or ['npx', '--yes', 'tokenwatt@0.1.0']. */
  readonly command: readonly string[]
  /** An existing claim for the results; null: one is made here. */
  readonly resultsClaim: string | null
  readonly resultsSize: string
  readonly storageClass: string | null
  /** A Secret whose keys become environment variables (API keys, BMC passwords), never values in the manifest. */
  readonly envSecret: string | null
  /** Longest the merge job waits for the shards (s). */
  readonly mergeDeadlineS: number
}

export type K8sObject = Record<string, unknown> & { readonly apiVersion: string; readonly kind: string }

const CONFIG_KEY = 'bench.yaml'
const CONFIG_DIR = '/etc/tokenwatt'
const RESULTS_DIR = '/results'

/** The shard folders on the results volume, in index order (what the merge step reads). */
export function shardDirs(shards: number): string[] {
  return Array.from({ length: shards }, (_, i) => `${RESULTS_DIR}/shard-${i}`)
}

export function indexedJobManifests(o: IndexedJobOptions): K8sObject[] {
  const meta = (name: string): Record<string, unknown> => ({ name, ...(o.namespace !== null ? { namespace: o.namespace } : {}), labels: { 'app.kubernetes.io/name': 'tokenwatt', 'app.kubernetes.io/instance': o.name } })
  const claim = o.resultsClaim ?? `${o.name}-results`
  const volumes = [
    { name: 'config', configMap: { name: `${o.name}-config` } },
    { name: 'results', persistentVolumeClaim: { claimName: claim } },
  ]
  const mounts = [
    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
    { name: 'results', mountPath: RESULTS_DIR },
  ]
  const envFrom = o.envSecret !== null ? { envFrom: [{ secretRef: { name: o.envSecret } }] } : {}
  const [cmd, ...cmdArgs] = o.command
  const out: K8sObject[] = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${o.name}-config`), data: { [CONFIG_KEY]: o.configYaml } }]
  if (o.resultsClaim === null) {
    out.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(claim),
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: o.resultsSize } }, ...(o.storageClass !== null ? { storageClassName: o.storageClass } : {}) },
    })
  }
  out.push({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(o.name),
    spec: {
      completionMode: 'Indexed',
      completions: o.shards,
      parallelism: o.shards,
      // a retried shard would miss the common start time: a failed shard fails the job, merge says which
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'tokenwatt', 'app.kubernetes.io/instance': o.name } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'shard',
              image: o.image,
              command: [cmd],
              args: [
                ...cmdArgs,
                'bench', '-c', `${CONFIG_DIR}/${CONFIG_KEY}`,
                '--shard', `$(SHARD_INDEX)/${o.shards}`,
                '--start-at', o.startAt,
                '--out', `${RESULTS_DIR}/shard-$(SHARD_INDEX)`,
                '--no-progress',
              ],
              env: [{ name: 'SHARD_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }],
              ...envFrom,
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  })
  const waitFor = `until [ "$(ls ${RESULTS_DIR}/shard-*/*/shard.json 2>/dev/null | wc -l)" -ge ${o.shards} ]; do sleep 5; done`
  const merge = [...o.command, 'merge', ...shardDirs(o.shards), '--out', `${RESULTS_DIR}/merged`, '--store', `${RESULTS_DIR}/merged/tokenwatt.db`]
  out.push({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(`${o.name}-merge`),
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: o.mergeDeadlineS,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'tokenwatt', 'app.kubernetes.io/instance': o.name } },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'merge', image: o.image, command: ['sh', '-c', `${waitFor} && exec ${merge.map(shellQuote).join(' ')}`], volumeMounts: mounts }],
          volumes,
        },
      },
    },
  })
  return out
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`
}
