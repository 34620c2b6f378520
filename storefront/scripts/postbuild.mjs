// After `vite build`: writes a gzip twin of every text file in dist/ (bazaar serves it to browsers that
// accept gzip), prints each file's size, and fails the build when the JavaScript a first visit loads
// (index.html's module script and its preloads) is over the budget of 150 KB gzip.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const BUDGET = 150 * 1024;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const sizes = new Map();
for (const path of walk(dist)) {
  if (path.endsWith('.gz') || !/\.(js|css|html|svg|json|txt)$/.test(path)) continue;
  const raw = readFileSync(path);
  const gz = gzipSync(raw, { level: 9 });
  writeFileSync(`${path}.gz`, gz);
  sizes.set(relative(dist, path), { raw: raw.length, gz: gz.length });
}

const index = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...index.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log('storefront build sizes (raw / gzip):');
for (const [file, { raw, gz }] of [...sizes].sort()) {
  console.log(`  ${initial.includes(file) ? '*' : ' '} ${file.padEnd(40)} ${kb(raw).padStart(9)} ${kb(gz).padStart(9)}`);
}
const total = initial.reduce((sum, file) => sum + (sizes.get(file)?.gz ?? 0), 0);
console.log(`initial JavaScript (*): ${kb(total)} gzip (budget ${kb(BUDGET)})`);
if (total > BUDGET) {
  console.error('initial JavaScript is over budget');
  process.exit(1);
}
