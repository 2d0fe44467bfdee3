export * from './errors.ts';
export * from './roles.ts';
export * from './messages.ts';
export * from './protocol.ts';
export * from './http.ts';
export * from './state.ts';
export * from './quantize.ts';
export * from './fhir.ts';
