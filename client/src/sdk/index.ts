export { ConsiliumClient } from './client.ts';
export { ConsiliumApi } from './api.ts';
export { ClinicSession, type AvatarPose, type ConnectionStatus } from './session.ts';
export { ConsiliumError } from './errors.ts';
export * from '../../../shared/src/index.ts';
