// Only src/store may import zustand: screens go through the store's hooks
// and actions (the same rule an ESLint no-restricted-imports would enforce).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(name) ? [p] : [];
  });
}

describe('imports', () => {
  it('keeps zustand inside src/store', () => {
    const src = join(__dirname);
    const offenders = sources(src)
      .filter((f) => !relative(src, f).startsWith('store/'))
      .filter((f) => /from\s+['"]zustand/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(src, f))).toEqual([]);
  });

  it('never renders HTML from strings', () => {
    const offenders = sources(join(__dirname)).filter((f) => /dangerouslySetInnerHTML|\.innerHTML\s*=/.test(readFileSync(f, 'utf8')) && !f.endsWith('imports.test.ts'));
    expect(offenders).toEqual([]);
  });
});
