// build.mjs builds the app's crypto engine (src/crypto) for Node.js into
// e2ee/.build/node.js, so that the tests and the bench run the very code
// the browser runs. The wasm package stays external and loads its Node.js
// entry.
import { build } from 'vite';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildEngine() {
  const outDir = join(app, 'e2ee', '.build');
  await build({
    root: app,
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: { ssr: join(app, 'src/crypto/node.ts'), outDir, emptyOutDir: true, minify: false },
  });
  return import(join(outDir, 'node.js'));
}
