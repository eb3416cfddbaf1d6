/// <reference types="vitest/config" />
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

// The console is served by the lattice binary itself (embedded at build time), so it lives
// at the origin's root and calls the API same-origin. `npm run dev` proxies /api to a local
// `lattice dev` (LATTICE_URL, default http://127.0.0.1:8080).
export default defineConfig({
  plugins: [tailwindcss()],
  build: {
    sourcemap: false,
    assetsInlineLimit: 0,
    rolldownOptions: {
      onwarn(w, warn) {
        if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w);
      },
    },
  },
  server: {
    proxy: { '/api': process.env.LATTICE_URL ?? 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
  },
});
