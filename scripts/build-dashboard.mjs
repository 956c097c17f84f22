// Bundles the dashboard's browser UI (src/dashboard/ui) into dist/dashboard-ui/: one ES module with
// preact, htm and uPlot inside, and one stylesheet. Run by `npm run build` / `prepare` (so `npm ci`
// makes it) and by the dashboard tests when it is missing. No CDN: the package serves these files.
import { build } from 'esbuild'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'dashboard-ui')
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [join(root, 'src', 'dashboard', 'ui', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
})
const css = readFileSync(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8') + readFileSync(join(root, 'src', 'dashboard', 'ui', 'app.css'), 'utf8')
writeFileSync(join(out, 'app.css'), css)
writeFileSync(join(out, 'index.html'), `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>tokenwatt dashboard</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/app.css"></head>
<body><div id="app"></div><script type="module" src="/assets/app.js"></script></body></html>
`)
