import { schema, t, type SchemaType } from '@colyseus/schema';

/**
 * Synchronized room state. Avatar poses are not in it: they travel on their
 * own binary path (shared/src/pose-wire.ts), keyed by each participant's
 * `slot`. The laser pointer of a conference is quantized like this (see
 * quantize.ts): int16 positions in 2 mm steps, int16 quaternion components.
 */
export const QPose = schema(
  {
    px: t.int16().default(0),
    py: t.int16().default(0),
    pz: t.int16().default(0),
    qx: t.int16().default(0),
    qy: t.int16().default(0),
    qz: t.int16().default(0),
    qw: t.int16().default(32767),
  },
  'QPose',
);
export type QPose = SchemaType<typeof QPose>;

export const ParticipantState = schema(
  {
    sessionId: t.string(),
    userId: t.string(),
    name: t.string(),
    role: t.string(),
    connected: t.boolean().default(true),
    /** Where this participant's avatar is in the binary pose frames (shared/src/pose-wire.ts). */
    slot: t.uint8(),
    /** Voice, as LiveKit reports it (webhooks) and moderation sets it. */
    voiceConnected: t.boolean().default(false),
    publishing: t.boolean().default(false),
    muted: t.boolean().default(false),
    /** Laser pointer target (position only), when `pointing`. */
    pointing: t.boolean().default(false),
    pointer: t.ref(QPose).default(() => new QPose()),
    /** Round-trip time the server last measured on this seat's link (ms; 0 = not yet). */
    rttMs: t.uint16().default(0),
    /** false while this seat's link is over the guidance limit or not answering. */
    linkOk: t.boolean().default(true),
    /** Grand rounds: the participant raised a hand to ask (the host calls on them). */
    handRaised: t.boolean().default(false),
    /** false: receive-only (a grand-rounds audience member), no avatar and no pose slot. */
    avatar: t.boolean().default(true),
  },
  'Participant',
);
export type ParticipantState = SchemaType<typeof ParticipantState>;

/**
 * The view tag of a scene object's free text: everyone's view holds every
 * object (geometry is not patient data); only views allowed to read the text
 * also hold it with this tag.
 */
export const OBJECT_TEXT_TAG = 1;

/** Scene objects keep float32 transforms: models need sub-millimetre placement. */
export const SceneObjectState = schema(
  {
    id: t.string(),
    kind: t.string(),
    asset: t.string(),
    /**
     * Free text: sent only to views that hold the object with OBJECT_TEXT_TAG (those whose access
     * covers the author's; server/src/auth/policy.ts objectTextVisible). Others see `hasText` and no label.
     */
    label: t.string().view(OBJECT_TEXT_TAG),
    createdBy: t.string(),
    px: t.float32(),
    py: t.float32(),
    pz: t.float32(),
    qx: t.float32(),
    qy: t.float32(),
    qz: t.float32(),
    qw: t.float32().default(1),
    sx: t.float32().default(1),
    sy: t.float32().default(1),
    sz: t.float32().default(1),
    /** sessionId of the holder, '' when free. */
    grabbedBy: t.string(),
    /** Strokes and arrows: "x,y,z,…" (mm precision) relative to the transform; '' otherwise. */
    points: t.string(),
    color: t.string(),
    /** world | patient (guidance: relative to the registered anchor) | video (normalised 0–1 on the surgeon's video). */
    frame: t.string().default('world'),
    /** Server's clock (ms) when added or last moved, for showing the annotation's age on the server's clock; 0 when unknown. */
    sentAt: t.float64().default(0),
    /** Video annotations: the surgeon's video frame time (ms) it was drawn on. */
    videoTime: t.float64().default(0),
    /** Hands-free acknowledgement: when (server ms) and by whom (the surgeon's or the host's user id); 0/'' = not yet. */
    ackedAt: t.float64().default(0),
    ackedBy: t.string().default(''),
    /** Dismissed by the surgeon: no longer shown in the AR view. */
    dismissed: t.boolean().default(false),
    /** The annotation in focus (guidance.next): travels with the object, so only those who may see it learn of it. */
    focused: t.boolean().default(false),
    /** Slice annotations (frame 'slice'): "<series key>/<slice index>"; '' otherwise. Points are then image pixels (column, row, 0). */
    slice: t.string().default(''),
    /** The object carries free text (a label); with `label` empty, this viewer's access does not reach it. */
    hasText: t.boolean().default(false),
    // Server-only fields last, so generated client classes (codegen skips them) keep the wire indices.
    /**
     * Server-only: the case resource this model shows ('' for none). Clients
     * never see the server's resource id; they find the model's resource by
     * the case entry that lists the model (`CaseEntryState.objects`).
     */
    resourceRef: t.string().noSync(),
    /** Server-only: the author's access an annotation carries ('' = visible to all). */
    authorScope: t.string().noSync(),
  },
  'SceneObject',
);
export type SceneObjectState = SchemaType<typeof SceneObjectState>;

export const RoomInfoState = schema(
  {
    roomId: t.string(),
    title: t.string(),
    kind: t.string(),
    caseId: t.string(),
    /** sessionId of the presenter ('' = nobody): others may follow their view. */
    presenter: t.string().default(''),
    /** off (not configured) | ok | degraded (LiveKit unreachable; retrying) */
    voice: t.string().default('off'),
    protocolVersion: t.uint8(),
    /** State patches per second (surgical guidance runs faster). */
    patchHz: t.uint8().default(30),
    /** Guidance: '' when every guiding link is fine, else a plain-language warning (pointers are then stale). */
    linkWarning: t.string().default(''),
    /** An administrator allows recording this room (the host starts and stops it). */
    recordingAllowed: t.boolean().default(false),
    /** The id of the recording running now ('' = not recording): everyone is shown that it records. */
    recording: t.string().default(''),
  },
  'RoomInfo',
);
export type RoomInfoState = SchemaType<typeof RoomInfoState>;

/**
 * One case resource as one participant may see it: the identified original or
 * its de-identified copy, as FHIR JSON. Each client's StateView holds only the
 * entries its access allows, so nothing else is ever encoded toward it.
 */
export const CaseEntryState = schema(
  {
    key: t.string(),
    resourceType: t.string(),
    variant: t.string(),
    json: t.string(),
    /** Ids of the scene objects (models) showing this resource, space-separated. */
    objects: t.string(),
    /**
     * How many resources of this type the whole record holds (the room carries
     * a summary: "10 of 32", the rest on demand). It travels with the entries,
     * so only those who may see the type learn how many there are.
     */
    ofType: t.uint32(),
    /**
     * Where the resource stands among the room's resources of its type by real clinical time,
     * oldest 0 (its copies share it). A de-identified copy is dated by its year alone, and a
     * resource that arrives live is appended to the state after those loaded newest first: this
     * is the only order within a year its readers have. Order only — never an interval.
     */
    order: t.uint32(),
  },
  'CaseEntry',
);
export type CaseEntryState = SchemaType<typeof CaseEntryState>;

/** A break-glass request, visible to the requester and the hosts. */
export const AccessRequestState = schema(
  {
    id: t.string(),
    userId: t.string(),
    name: t.string(),
    /** The role the request was made under; a grant counts only while the requester holds it. */
    role: t.string(),
    resourceTypes: t.string(),
    reason: t.string(),
    /** pending | approved | denied | expired */
    status: t.string(),
    /** ms since epoch: when a pending request lapses or a grant ends. */
    expiresAt: t.float64(),
  },
  'AccessRequest',
);
export type AccessRequestState = SchemaType<typeof AccessRequestState>;

/**
 * The patient frame the surgeon registered (surgical guidance): where the
 * patient is in the surgeon's AR world. Annotations in the `patient` frame are
 * relative to it; re-registration bumps `version` and moves only the frame.
 */
export const AnchorState = schema(
  {
    version: t.uint32().default(0),
    px: t.float32().default(0),
    py: t.float32().default(0),
    pz: t.float32().default(0),
    qx: t.float32().default(0),
    qy: t.float32().default(0),
    qz: t.float32().default(0),
    qw: t.float32().default(1),
    setBy: t.string().default(''),
    /** Server ms when set; 0 = never registered. */
    setAt: t.float64().default(0),
  },
  'Anchor',
);
export type AnchorState = SchemaType<typeof AnchorState>;

/**
 * The room's shared image viewer: which series (its room key, the pseudonymous
 * UID every viewer can resolve), which slice, window/level, zoom and pan — the
 * presenter's view, which others follow. Numbers and one id only: pixels and
 * headers come over HTTP, through the room, per viewer.
 */
export const ViewerState = schema(
  {
    /** Series key (ImagingSeriesDto.key); '' = no series open. */
    series: t.string().default(''),
    slice: t.uint16().default(0),
    /** Window centre and width in rescaled units (HU for CT). */
    center: t.float32().default(40),
    width: t.float32().default(400),
    /** 1 = fit to the panel. */
    zoom: t.float32().default(1),
    /** Pan as fractions of the panel. */
    panX: t.float32().default(0),
    panY: t.float32().default(0),
    /** sessionId of who set it last. */
    by: t.string().default(''),
    /** Bumped on every change (followers can tell a fresh view from an old one). */
    seq: t.uint32().default(0),
    /** How the series lies on the table in 3D (VOLUME_MODES): reformatted planes, a MIP or a composited volume. */
    mode3d: t.string().default('planes'),
    /**
     * Surgical guidance: the slice panel pinned in the patient frame (the surgeon's AR view draws the
     * room's slice there). Pose relative to the registered anchor, metres; `pinBy` '' = not pinned.
     */
    pinBy: t.string().default(''),
    pinPx: t.float32().default(0),
    pinPy: t.float32().default(0),
    pinPz: t.float32().default(0),
    pinQx: t.float32().default(0),
    pinQy: t.float32().default(0),
    pinQz: t.float32().default(0),
    pinQw: t.float32().default(1),
  },
  'Viewer',
);
export type ViewerState = SchemaType<typeof ViewerState>;
/**
 * A recorded participant as replayed: who they were and where they pointed. Their avatar's poses
 * travel apart, on the replay's binary path (shared/src/replay-wire.ts), keyed by this entry's number.
 */
export const GhostState = schema(
  {
    userId: t.string(),
    name: t.string(),
    role: t.string(),
    pointing: t.boolean().default(false),
    pointer: t.ref(QPose).default(() => new QPose()),
  },
  'Ghost',
);
export type GhostState = SchemaType<typeof GhostState>;

/**
 * A replay room's player: the host controls it, everyone follows. The
 * position now is `positionMs + (serverNow - at) * speed` while playing.
 */
export const ReplayState = schema(
  {
    recordingId: t.string().default(''),
    /** '' (no recording) | paused | playing | ended */
    status: t.string().default(''),
    positionMs: t.float64().default(0),
    /** Server ms when positionMs was taken. */
    at: t.float64().default(0),
    speed: t.float32().default(1),
    durationMs: t.float64().default(0),
    /** 'none': the recording has no audio (no LiveKit when it was made); 'egress': audio was recorded by LiveKit. */
    audio: t.string().default('none'),
    /** The recorded presenter (a key of `ghosts`; '' = nobody). */
    presenter: t.string().default(''),
    ghosts: t.map(GhostState),
  },
  'Replay',
);
export type ReplayState = SchemaType<typeof ReplayState>;

export const ClinicState = schema(
  {
    info: t.ref(RoomInfoState).default(() => new RoomInfoState()),
    anchor: t.ref(AnchorState).default(() => new AnchorState()),
    participants: t.map(ParticipantState),
    /** Every object reaches everyone; free text (label) only those whose access covers the author's (OBJECT_TEXT_TAG). */
    objects: t.map(SceneObjectState).view(),
    /** Filtered per client by scope (see CaseEntryState). */
    caseEntries: t.map(CaseEntryState).view(),
    accessRequests: t.map(AccessRequestState).view(),
    /** The shared image viewer, under the key 'shared': only seats whose access includes ImagingStudy see it. */
    viewer: t.map(ViewerState).view(),
    /** Replay rooms: the player and the recorded participants. */
    replay: t.ref(ReplayState).default(() => new ReplayState()),
  },
  'ClinicState',
);
export type ClinicState = SchemaType<typeof ClinicState>;
