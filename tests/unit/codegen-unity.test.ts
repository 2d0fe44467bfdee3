import { describe, expect, it } from 'vitest';
import { stale } from '../../scripts/codegen-unity.ts';

/** Native AR clients decode the room state with generated C# classes: they must match shared/src/state.ts. */
describe('Unity schema classes', () => {
  it('are up to date with shared/src/state.ts (npm run codegen:unity)', () => {
    expect(stale()).toEqual([]);
  });
});
