import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// The build goes to ../dist, which is committed and embedded by the Go
// server (webui/embed.go). Output must be deterministic so that
// scripts/check-dist.mjs can detect a stale committed build.
export default defineConfig({
  base: '/',
  plugins: [react(), tailwindcss()],
  build: {
    outDir: process.env.HEARTH_DIST_DIR || '../dist',
    emptyOutDir: true,
    sourcemap: false,
    // One JS and one CSS file: the CSP allows only same-origin scripts and
    // forbids inline ones, which Vite's default output respects.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', ws: true, changeOrigin: false },
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
