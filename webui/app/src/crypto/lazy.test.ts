// The wasm crypto package (about 5 MB) must stay out of the first page
// load: only engine.ts may load it, and only with a dynamic import().
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('the crypto package loads lazily', () => {
  it('is imported statically nowhere (type imports aside)', () => {
    const src = join(__dirname, '..');
    const offenders = sources(src).filter((f) =>
      /^\s*import\s+(?!type\b)[^;]*from\s+['"]@matrix-org\/matrix-sdk-crypto-wasm['"]/m.test(readFileSync(f, 'utf8')),
    );
    expect(offenders.map((f) => relative(src, f))).toEqual([]);
  });
  it('is loaded by engine.ts with import()', () => {
    expect(readFileSync(join(__dirname, 'engine.ts'), 'utf8')).toMatch(/await import\('@matrix-org\/matrix-sdk-crypto-wasm'\)/);
  });
});
