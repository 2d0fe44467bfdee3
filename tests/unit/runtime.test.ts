import { describe, expect, it } from 'vitest';

/**
 * npm scripts put node_modules/.bin first on PATH, so the `node` devDependency
 * (Node 24 LTS) runs the tests even where the system Node is older. Colyseus
 * 0.18 needs Node >= 22 and its global WebSocket (no polyfill any more).
 */
describe('runtime', () => {
  it('runs on a supported Node LTS (>= 22) with a global WebSocket', () => {
    const major = Number(process.versions.node.split('.')[0]);
    console.log(`test worker runtime: ${process.version} (${process.execPath})`);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(typeof globalThis.WebSocket).toBe('function');
  });
});
