import { Router } from 'express';
import pkg from '../../../package.json' with { type: 'json' };
import { openApiDocument } from './openapi.ts';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The API description for integrators: `/api/openapi.json` (OpenAPI 3.1) and `/api/docs`,
 * a plain HTML rendering of the same document (no scripts, nothing fetched from elsewhere).
 * Public: it describes the API, it holds no data.
 */
export function openApiRoutes(publicUrl: () => string): Router {
  const router = Router();
  let cached: { json: string; html: string } | null = null;
  const build = () => {
    if (cached) return cached;
    const doc = openApiDocument({ version: pkg.version, serverUrl: publicUrl() });
    cached = { json: JSON.stringify(doc), html: renderHtml(doc) };
    return cached;
  };
  router.get('/api/openapi.json', (_req, res) => {
    res.type('application/json').send(build().json);
  });
  router.get('/api/docs', (_req, res) => {
    res.type('text/html').send(build().html);
  });
  return router;
}

interface Op {
  summary: string;
  description: string;
  tags: string[];
  parameters: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }>; $ref?: string }>;
}

function renderHtml(doc: Record<string, unknown>): string {
  const info = doc['info'] as { title: string; version: string; description: string };
  const paths = doc['paths'] as Record<string, Record<string, Op>>;
  const sections = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const schemaBlock = (label: string, schema: unknown) => `<details><summary>${escape(label)}</summary><pre>${escape(JSON.stringify(schema, null, 2))}</pre></details>`;
      const params = op.parameters.length ? `<p>Parameters: ${op.parameters.map((p) => `<code>${escape(p.name)}</code> (${p.in}${p.required ? ', required' : ''})`).join(', ')}</p>` : '';
      const body = op.requestBody ? schemaBlock('Request body', Object.values(op.requestBody.content)[0]?.schema) : '';
      const responses = Object.entries(op.responses)
        .map(([status, r]) => {
          const content = r.content ? Object.entries(r.content)[0] : undefined;
          if (content?.[1].schema) return schemaBlock(`${status}: ${content[0]}`, content[1].schema);
          return `<p>${escape(status)}: ${escape(r.$ref ? 'error from the catalogue' : `${r.description ?? ''}${content ? ` (${content[0]})` : ''}`)}</p>`;
        })
        .join('');
      const tag = op.tags[0] ?? 'other';
      if (!sections.has(tag)) sections.set(tag, []);
      sections.get(tag)!.push(`<section id="${escape(`${method}-${path}`)}"><h3><span class="m">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3><p>${escape(op.summary)} <em>${escape(op.description)}</em></p>${params}${body}${responses}</section>`);
    }
  }
  const toc = [...sections.keys()].map((t) => `<a href="#tag-${escape(t)}">${escape(t)}</a>`).join(' · ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(info.title)} ${escape(info.version)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}h3{font-size:1rem;margin:1.5rem 0 .25rem}.m{display:inline-block;min-width:4.5rem;font-family:monospace;color:#0b5394}pre{background:#f4f4f4;padding:.5rem;overflow:auto;font-size:12px}section{border-top:1px solid #ddd}</style></head>
<body><h1>${escape(info.title)} <small>${escape(info.version)}</small></h1><p>${escape(info.description)}</p><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p><nav>${toc}</nav>
${[...sections].map(([tag, items]) => `<h2 id="tag-${escape(tag)}">${escape(tag)}</h2>${items.join('\n')}`).join('\n')}</body></html>`;
}
