import type { Room } from '@colyseus/sdk';
import type { ClinicSession } from '../../client/src/sdk/session.ts';

/** A session's room without the protocol's types: anything an attacker's own client could send. */
export const untyped = (session: ClinicSession): Room => session.room as unknown as Room;
