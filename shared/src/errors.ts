/**
 * The one catalogue of error codes. HTTP responses and room replies both carry
 * `{ code, message }`; tests and clients branch on `code`, never on `message`.
 */
export const ErrorCodes = {
  // request shape
  BODY_INVALID: { status: 400, message: 'Request body is invalid' },
  QUERY_INVALID: { status: 400, message: 'Query parameters are invalid' },
  MESSAGE_INVALID: { status: 400, message: 'Message payload is invalid' },
  MESSAGE_UNKNOWN: { status: 400, message: 'Unknown message type' },
  PROTOCOL_MISMATCH: { status: 426, message: 'Client protocol version is not supported' },
  // identity
  AUTH_REQUIRED: { status: 401, message: 'An identity token is required' },
  AUTH_INVALID: { status: 401, message: 'Identity token is invalid' },
  AUTH_EXPIRED: { status: 401, message: 'Identity token has expired' },
  // room tickets
  TICKET_REQUIRED: { status: 401, message: 'A room ticket is required' },
  TICKET_INVALID: { status: 401, message: 'Room ticket is invalid' },
  TICKET_EXPIRED: { status: 401, message: 'Room ticket has expired' },
  TICKET_WRONG_ROOM: { status: 403, message: 'Room ticket is for another room' },
  NOT_INVITED: { status: 403, message: 'You are not a participant of this room' },
  // authorization
  FORBIDDEN: { status: 403, message: 'This action is not allowed for your role' },
  ADMIN_REQUIRED: { status: 403, message: 'Administrator access is required' },
  SCOPE_DENIED: { status: 403, message: 'Your scopes do not allow this data' },
  WEBHOOK_INVALID: { status: 401, message: 'Webhook signature, body hash or age is invalid' },
  VOICE_OFF: { status: 409, message: 'Voice is not configured on this server' },
  PARTICIPANT_NOT_FOUND: { status: 404, message: 'That participant is not in the room' },
  TICKET_REVOKED: { status: 401, message: 'Room ticket has been revoked' },
  TICKET_USED: { status: 401, message: 'Room ticket has already been used; get a new one' },
  KICKED: { status: 403, message: 'You were removed from this room by its host; ask the host to re-admit you' },
  SEAT_LIMIT: { status: 409, message: 'You already have the maximum number of sessions in this room' },
  SCOPE_ABOVE_CEILING: { status: 403, message: "Those scopes exceed the room's ceiling" },
  JOIN_METHOD_REFUSED: { status: 405, message: 'Rooms are joined by id with a ticket (joinById); they cannot be created or matched by clients' },
  // resources
  NOT_FOUND: { status: 404, message: 'Not found' },
  ROOM_NOT_FOUND: { status: 404, message: 'Room not found' },
  ROOM_CLOSED: { status: 410, message: 'Room has been closed' },
  ROOM_FULL: { status: 409, message: 'The room is full' },
  OBJECT_NOT_FOUND: { status: 404, message: 'Scene object not found' },
  CASE_NOT_FOUND: { status: 404, message: 'Case not found' },
  REQUEST_NOT_FOUND: { status: 404, message: 'Access request not found or no longer pending' },
  NO_CASE: { status: 409, message: 'This room has no case' },
  BREAK_GLASS_PENDING: { status: 409, message: 'You already have a pending emergency access request' },
  BREAK_GLASS_ACTIVE: { status: 409, message: 'You already hold an emergency access grant' },
  OBJECT_EXISTS: { status: 409, message: 'A scene object with this id already exists' },
  OBJECT_LOCKED: { status: 409, message: 'Scene object is held by another participant' },
  OBJECT_NOT_HELD: { status: 409, message: 'You are not holding this scene object' },
  CARD_NOT_FOUND: { status: 404, message: 'That decision-support card is not (or no longer) yours' },
  SCENE_FULL: { status: 409, message: 'The scene has reached its object limit' },
  // the hospital's FHIR server
  FHIR_NOT_CONFIGURED: { status: 409, message: 'No FHIR server is configured (FHIR_BASE_URL)' },
  FHIR_PATIENT_NOT_FOUND: { status: 404, message: 'The FHIR server has no such patient' },
  FHIR_PATIENT_AMBIGUOUS: { status: 409, message: 'The identifier matches more than one patient on the FHIR server' },
  FHIR_SERVER_ERROR: { status: 502, message: 'The FHIR server refused or failed the request' },
  FHIR_REDIRECT_REFUSED: { status: 502, message: 'The FHIR server (or its token endpoint) answered with a redirect; Consilium does not follow redirects: configure the final address' },
  FHIR_RECORD_TOO_LARGE: { status: 502, message: "The FHIR server's record is larger than a case import may be" },
  // case imports (run on a worker thread with a memory cap and a time limit; either stops it before anything is stored)
  IMPORT_TOO_LARGE: { status: 413, message: 'The record needs more memory to import than the server allows; nothing was stored (split it, or raise IMPORT_WORKER_HEAP_MB)' },
  IMPORT_TIMEOUT: { status: 503, message: 'The import took too long and was stopped; nothing was stored (try again when the server is less busy)' },
  // imaging (DICOM studies from the PACS over DICOMweb, or uploaded)
  IMAGING_NOT_FOUND: { status: 404, message: 'No such study, series or image in this case' },
  IMAGING_PATIENT_MISMATCH: { status: 409, message: "The study's patient does not match the case's patient" },
  IMAGING_UNSUPPORTED: { status: 415, message: 'This image is in a format Consilium does not show (supported: explicit or implicit VR little endian, JPEG baseline)' },
  IMAGING_NOT_DICOM: { status: 400, message: 'The upload is not a DICOM Part 10 file' },
  IMAGING_WITHHELD: { status: 403, message: 'This series may show the patient\'s identity burned into the pixels; it is withheld from de-identified viewers until an administrator marks it clean' },
  IMAGING_ZIP_REFUSED: { status: 400, message: 'The zip cannot be read safely (not a zip, too large, too many entries, an entry that inflates too far, or a name outside the archive); nothing was stored' },
  IMAGING_SOURCE_ERROR: { status: 502, message: 'The image archive (DICOMweb) refused or failed the request' },
  // teaching: recordings and replays
  RECORDING_NOT_ALLOWED: { status: 403, message: 'An administrator has not allowed recording in this room' },
  RECORDING_ACTIVE: { status: 409, message: 'This room is already recording' },
  NOT_RECORDING: { status: 409, message: 'This room is not recording' },
  RECORDING_NOT_FOUND: { status: 404, message: 'Recording not found' },
  NOT_A_REPLAY: { status: 409, message: 'This room does not replay a recording' },
  RECORDING_NO_AUDIO: { status: 404, message: 'This recording has no audio (LiveKit was not recording the voice)' },
  RECORDING_AUDIO_UNAVAILABLE: { status: 404, message: "This recording's audio is not reachable from this server (the egress storage is not shared with it, or the file is missing)" },
  AUDIO_LINK_INVALID: { status: 401, message: 'This audio link is invalid or has expired; ask for a new one' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested byte range cannot be served (one range within the file)' },
  USER_NOT_FOUND: { status: 404, message: 'Nobody with that user id has signed in to Consilium (check the spelling, or ask them to sign in once)' },
  CASE_NOT_PULLED: { status: 409, message: 'This case was not pulled from the FHIR server' },
  // flow control and server
  RATE_LIMITED: { status: 429, message: 'Too many messages; slow down' },
  PERSIST_FAILED: { status: 503, message: 'Could not save the change; it was not applied' },
  UNAVAILABLE: { status: 503, message: 'Service unavailable' },
  AUDIT_EVENT_INVALID: { status: 400, message: 'The audit record of this action was refused (invalid text); the action was not audited' },
  AUDIT_WRITE_FAILED: { status: 503, message: 'The audit record of this action could not be written' },
  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** Error body shared by HTTP responses and room replies. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
  /** On INTERNAL errors: the id of the server's log line. */
  requestId?: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

/**
 * WebSocket close codes the server uses when it ends a session on purpose.
 * The client does not auto-reconnect on these (only on 1001/1005/1006/4010).
 */
export const CloseCodes = {
  KICKED: 4403,
  ROOM_CLOSED: 4404,
  RATE_LIMITED: 4429,
  REMOVED: 4401,
} as const;
export type CloseCodeName = keyof typeof CloseCodes;
