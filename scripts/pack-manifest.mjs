// The manifest as users get it (issue 13.5). package.json stubs node-llama-cpp's CUDA/Vulkan
// prebuilt packages (~620 MB) with stubs/empty-optional for this repository's own installs (CI, the
// demo); the stub is not published, and a `file:` dependency in a published manifest makes every
// install from the registry fail. `npm pack` / `npm publish` run this:
//   prepack:  node scripts/pack-manifest.mjs strip    (drops the stub entries; package.json kept aside)
//   postpack: node scripts/pack-manifest.mjs restore  (puts package.json back as it was)
// so a user's install resolves node-llama-cpp's own optional dependencies, GPU prebuilds included.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

const MANIFEST = 'package.json'
const KEPT = 'package.json.prepack'

/** The manifest without `file:` optional dependencies and the `$name` overrides that point at them. */
export function publishedManifest(pkg) {
  const out = { ...pkg }
  const stubbed = Object.entries(pkg.optionalDependencies ?? {})
    .filter(([, spec]) => typeof spec === 'string' && spec.startsWith('file:'))
    .map(([name]) => name)
  if (stubbed.length === 0) return out
  const optional = Object.fromEntries(Object.entries(pkg.optionalDependencies).filter(([name]) => !stubbed.includes(name)))
  const overrides = Object.fromEntries(Object.entries(pkg.overrides ?? {}).filter(([name, spec]) => !(stubbed.includes(name) && spec === `$${name}`)))
  if (Object.keys(optional).length > 0) out.optionalDependencies = optional
  else delete out.optionalDependencies
  if (Object.keys(overrides).length > 0) out.overrides = overrides
  else delete out.overrides
  return out
}

function main(step) {
  if (step === 'strip') {
    // a pack cut short left the stripped manifest in place: start again from the kept one
    if (existsSync(KEPT)) renameSync(KEPT, MANIFEST)
    const text = readFileSync(MANIFEST, 'utf8')
    const stripped = publishedManifest(JSON.parse(text))
    writeFileSync(KEPT, text)
    writeFileSync(MANIFEST, `${JSON.stringify(stripped, null, 2)}\n`)
  } else if (step === 'restore') {
    if (existsSync(KEPT)) renameSync(KEPT, MANIFEST)
  } else {
    process.stderr.write('usage: node scripts/pack-manifest.mjs strip|restore\n')
    process.exit(2)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv[2])
