/**
 * Bench clients speak WebSocket through the `ws` package rather than Node's
 * built-in (undici) WebSocket, whose per-message cost on the client side is
 * several times higher — on a 2-core machine that cost competes with the
 * server under test. Imported first, before the Colyseus SDK picks its
 * WebSocket. Every server's clients use the same.
 */
import { WebSocket } from 'ws';

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
