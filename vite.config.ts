import path from 'node:path';
import { defineConfig } from 'vite';

/** The browser app (`/`) and admin console (`/admin`), bundled — no CDN at run time. */
export default defineConfig({
  root: path.resolve(import.meta.dirname, 'client'),
  base: '/',
  build: {
    outDir: path.resolve(import.meta.dirname, 'client/dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: {
        main: path.resolve(import.meta.dirname, 'client/index.html'),
        admin: path.resolve(import.meta.dirname, 'client/admin.html'),
      },
    },
  },
  server: {
    // `npm run dev`: Vite with hot reload, API and WebSocket proxied to the server.
    port: 5173,
    proxy: {
      '/api': 'http://localhost:2567',
      '/matchmake': 'http://localhost:2567',
      '/.well-known': 'http://localhost:2567',
      '^/[A-Za-z0-9_-]{9}/': { target: 'ws://localhost:2567', ws: true },
    },
  },
});
