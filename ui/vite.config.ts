import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/** The policy the Tauri window enforces; the built page carries it too so browser tests enforce it. */
export const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src ipc: http://ipc.localhost";

function cspMeta(): Plugin {
  return {
    name: 'carekey-csp-meta',
    apply: 'build',
    transformIndexHtml() {
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' }];
    },
  };
}

export default defineConfig({
  plugins: [cspMeta()],
  // Relative asset URLs so the bundle works from tauri://localhost and from any static server.
  base: './',
  build: {
    target: 'es2021',
    outDir: 'dist',
    emptyOutDir: true,
    // No inline modulepreload polyfill script (the CSP forbids inline scripts).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: { port: 1420, strictPort: true },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
