import { WebSocket } from 'ws';

// Colyseus 0.18 uses the global WebSocket (absent on Node 20) in client and reconnection paths.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
