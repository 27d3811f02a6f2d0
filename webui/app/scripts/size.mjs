#!/usr/bin/env node
// size reports what the built UI (../dist, or the directory given) costs a
// browser, gzipped (level 9): the login screen's first load (index.html and
// what it references), a signed-in room view (plus the signed-in chunk, and
// the Markdown renderer fetched right after it shows), and each lazy chunk.
//
//   node webui/app/scripts/size.mjs [DIST]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(process.argv[2] ?? join(app, '../dist'));
const gz = (b) => gzipSync(b, { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1).padStart(6) + ' KiB';

const html = readFileSync(join(dist, 'index.html'));
const files = readdirSync(join(dist, 'assets')).map((f) => `assets/${f}`);
const size = (f) => {
  const b = readFileSync(join(dist, f));
  return { raw: b.length, gz: gz(b) };
};
const referenced = [...html.toString().matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]);
const sum = (list) => list.reduce((a, f) => ({ raw: a.raw + size(f).raw, gz: a.gz + size(f).gz }), { raw: html.length, gz: gz(html) });
const pick = (re) => files.filter((f) => re.test(f));

const rows = [
  ['login screen (first load)', referenced],
  ['signed-in room view, to first render', [...referenced, ...pick(/\/signedIn-[^/]+\.js$/)]],
  ['  … plus Markdown, fetched after it', [...referenced, ...pick(/\/signedIn-[^/]+\.js$/), ...pick(/\/Markdown-[^/]+\.js$/)]],
];
console.log('first loads (index.html included):');
for (const [name, list] of rows) {
  const s = sum(list);
  console.log(`  ${name.padEnd(40)} ${kb(s.gz)} gzipped  (${kb(s.raw)} raw)`);
}
console.log('every asset:');
for (const f of files.sort()) {
  const s = size(f);
  console.log(`  ${f.padEnd(40)} ${kb(s.gz)} gzipped  (${kb(s.raw)} raw)${referenced.includes(f) ? '  first load' : ''}`);
}
