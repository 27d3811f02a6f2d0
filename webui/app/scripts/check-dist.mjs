#!/usr/bin/env node
// check-dist rebuilds the UI into a temporary directory and compares it with
// the committed ../dist, byte for byte. It exits 1 when they differ, so a
// change to webui/app without a rebuild fails `make test`.
//
//   node webui/app/scripts/check-dist.mjs      (from anywhere; needs node_modules)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const committed = resolve(app, '../dist');
const fresh = mkdtempSync(join(tmpdir(), 'hearth-dist-'));

function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

try {
  execFileSync(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], {
    cwd: app,
    env: { ...process.env, HEARTH_DIST_DIR: fresh },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const want = files(fresh);
  const have = files(committed);
  const problems = [];
  for (const f of want) if (!have.includes(f)) problems.push(`missing from webui/dist: ${f}`);
  for (const f of have) if (!want.includes(f)) problems.push(`stale file in webui/dist: ${f}`);
  for (const f of want) {
    if (have.includes(f) && !readFileSync(join(fresh, f)).equals(readFileSync(join(committed, f)))) {
      problems.push(`differs: ${f}`);
    }
  }
  if (problems.length) {
    console.error('webui/dist is stale; run `npm run build` in webui/app and commit webui/dist:');
    for (const p of problems) console.error('  ' + p);
    process.exitCode = 1;
  } else {
    console.log(`webui/dist is up to date (${want.length} files)`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
