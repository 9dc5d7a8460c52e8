/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The terminal API that `vite` (dev) and `vite preview` proxy /api to.
const target = process.env.TILLSTONE_URL ?? "http://127.0.0.1:8787";
const proxy = { "/api": { target, changeOrigin: true } };

export default defineConfig({
  base: "/",
  server: { port: 5173, proxy },
  preview: { port: 4173, proxy },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  test: { environment: "node", include: ["test/**/*.test.ts"] },
});
