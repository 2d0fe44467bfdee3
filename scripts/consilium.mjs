#!/usr/bin/env node
// `npx consilium …`: runs scripts/consilium.ts through tsx, like the other scripts.
import { register } from 'tsx/esm/api';

register();
await import('./consilium.ts');
