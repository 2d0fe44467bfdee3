# syntax=docker/dockerfile:1
# Stage 1: build the browser client (needs dev dependencies: vite).
FROM node:24-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY vite.config.ts tsconfig.json ./
COPY client ./client
COPY shared ./shared
RUN npx vite build

# Stage 2: production dependencies only.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

# Stage 3: the runtime image (no compilers, no dev dependencies, non-root).
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=2567 HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY shared ./shared
COPY server ./server
COPY client/src ./client/src
# The demo room's CT (pydicom's published test series, seeded by server/src/db/seed.ts)
COPY tests/fixtures/dicom/ct-series ./tests/fixtures/dicom/ct-series
COPY --from=web /app/client/dist ./client/dist
COPY migrations ./migrations
COPY scripts ./scripts
# Where the audit checkpoint key lives (a volume; see docs/AUDIT.md), writable by the server.
RUN mkdir -p /var/lib/consilium && chown node:node /var/lib/consilium && chmod 700 /var/lib/consilium
USER node
EXPOSE 2567
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||2567)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Memory (docs/BENCHMARKS.md, memory): a young generation of at most 2 × 2 MB (V8 grew it to 128 MB under a join storm,
# and kept 16 MB at rest with 8), and two malloc arenas (glibc keeps one per thread that ever allocated — the import and
# image workers' — for the process's life).
ENV MALLOC_ARENA_MAX=2
CMD ["node", "--max-semi-space-size=4", "--import", "tsx", "server/src/main.ts"]
