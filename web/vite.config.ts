/**
 * Builds the console from web/ into web/dist (`npm run build:web`), which
 * the controller serves at `/`. `npx vite --config web/vite.config.ts`
 * runs a dev server that sends /v1 to a controller on 127.0.0.1:9990.
 */
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Everything in files of its own: the CSP allows no inline script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    host: "127.0.0.1",
    proxy: { "/v1": "http://127.0.0.1:9990" },
  },
});
