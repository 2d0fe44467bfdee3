import * as THREE from 'three';
import { OPACITY, pickRay, RAMP, type PickMode, type VolumeBrick } from '../imaging/volume-brick.ts';
import type { Vec3 } from '../imaging/volume.ts';

/** Ray-marching steps at most per pixel: a whole 256-voxel diagonal at half-voxel steps is more; the step grows instead. */
const MAX_STEPS = 320;
/**
 * The ray-marched picture is drawn at this fraction of the screen's pixels (each way) into a texture, and
 * only again when the camera, the window, the mode or the voxels changed: the room redraws every frame for
 * the avatars, and marching hundreds of samples per pixel 60 times a second would hold a phone's (or a
 * software renderer's) GPU for nothing. The box on the table then only looks that texture up.
 */
export const RESOLUTION_SCALE = 0.5;

const COMPOSITE_VERTEX = /* glsl */ `
void main() { gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0); }`;
const COMPOSITE_FRAGMENT = /* glsl */ `
precision highp float;
uniform sampler2D uPicture;
uniform vec2 uBuffer;
out vec4 outColor;
void main() { outColor = texture(uPicture, gl_FragCoord.xy / uBuffer); }`;

const VERTEX = /* glsl */ `
out vec3 vPos;
out vec3 vEye;
void main() {
  vPos = position;
  // The eye in texture coordinates: the box's own space, where the volume is the unit cube.
  vEye = (inverse(modelMatrix) * vec4(cameraPosition, 1.0)).xyz;
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
}`;

const FRAGMENT = /* glsl */ `
precision highp float;
precision highp sampler3D;
uniform sampler3D uVolume;
uniform vec3 uSize;
uniform float uLow;
uniform float uWidth;
uniform float uInvert;
uniform int uMode;
in vec3 vPos;
in vec3 vEye;
out vec4 outColor;

const int MAX_STEPS = ${MAX_STEPS};
const float OPACITY = ${OPACITY.toFixed(4)};
const vec2 RAMP = vec2(${RAMP[0].toFixed(4)}, ${RAMP[1].toFixed(4)});

float grey(float v) {
  float g = clamp((v - uLow) / uWidth, 0.0, 1.0);
  return uInvert > 0.5 ? 1.0 - g : g;
}
vec2 boxSpan(vec3 o, vec3 d) {
  vec3 inv = 1.0 / d;
  vec3 a = (vec3(0.0) - o) * inv;
  vec3 b = (vec3(1.0) - o) * inv;
  vec3 lo = min(a, b);
  vec3 hi = max(a, b);
  return vec2(max(max(max(lo.x, lo.y), lo.z), 0.0), min(min(hi.x, hi.y), hi.z));
}
float hash(vec2 p) { return fract(sin(dot(p, vec2(12.9898, 78.233))) * 43758.5453); }

void main() {
  vec3 d = vPos - vEye;
  float len = length(d);
  d /= len;
  vec2 span = boxSpan(vEye, d);
  if (span.x >= span.y) discard;
  float maxDim = max(max(uSize.x, uSize.y), uSize.z);
  // Half a voxel per step, unless that would take more than MAX_STEPS across the box.
  float dt = max(0.5 / maxDim, (span.y - span.x) / float(MAX_STEPS));
  float voxelsPerStep = dt * maxDim;
  // A per-pixel offset of the first sample hides the wood-grain rings of a regular step.
  float t = span.x + dt * hash(gl_FragCoord.xy);
  vec3 texel = 1.0 / uSize;
  if (uMode == 0) {
    // Maximum intensity projection: the brightest value along the ray, through the window.
    float best = -1e9;
    for (int i = 0; i < MAX_STEPS; i++) {
      if (t > span.y) break;
      best = max(best, texture(uVolume, vEye + t * d).r);
      t += dt;
    }
    float g = grey(best);
    float a = smoothstep(0.0, 0.08, g);
    outColor = vec4(vec3(g) * a, a);
    return;
  }
  // Composited front to back: the window is the transfer function (voxelOpacity in volume-brick.ts), lit from the eye.
  vec3 colour = vec3(0.0);
  float alpha = 0.0;
  for (int i = 0; i < MAX_STEPS; i++) {
    if (t > span.y || alpha > 0.97) break;
    vec3 p = vEye + t * d;
    float v = texture(uVolume, p).r;
    float g = grey(v);
    float r = clamp((g - RAMP.x) / (RAMP.y - RAMP.x), 0.0, 1.0);
    float a = OPACITY * r * r * (3.0 - 2.0 * r);
    if (a > 0.002) {
      a = 1.0 - pow(1.0 - a, voxelsPerStep);
      // Forward differences (three more samples, not six): the surface's normal for the headlight.
      vec3 n = vec3(texture(uVolume, p + vec3(texel.x, 0.0, 0.0)).r, texture(uVolume, p + vec3(0.0, texel.y, 0.0)).r, texture(uVolume, p + vec3(0.0, 0.0, texel.z)).r) - v;
      float lit = length(n) > 1e-3 ? 0.35 + 0.65 * abs(dot(normalize(n), d)) : 1.0;
      // Bone-white through the window, a little warmer in its lower part: depth reads better than in pure grey.
      vec3 c = mix(vec3(0.78, 0.55, 0.45), vec3(1.0, 0.98, 0.94), g) * lit;
      colour += (1.0 - alpha) * a * c;
      alpha += (1.0 - alpha) * a;
    }
    t += dt;
  }
  if (alpha < 0.01) discard;
  outColor = vec4(colour, alpha);
}`;

/**
 * The series rendered as a volume on the table: a box whose local space is the brick's texture
 * coordinates (its matrix is textureToRoom), drawn from its back faces so the view may also be inside
 * it, ray-marched in a fragment shader (MIP, or composited with the window as transfer function) into a
 * texture at RESOLUTION_SCALE, redrawn only when something it shows changed; the box in the room looks
 * that texture up (in a headset, whose two eyes see differently, it marches directly). Picking (the
 * laser, strokes) stops where the rendering looks solid, not at the box.
 */
export class VolumeRender {
  /** The box in the room: what is drawn, picked and placed. */
  readonly mesh: THREE.Mesh<THREE.BoxGeometry, THREE.ShaderMaterial>;
  private readonly texture: THREE.Data3DTexture;
  private readonly marching: THREE.ShaderMaterial;
  private readonly composite: THREE.ShaderMaterial;
  /** The marching box alone, for the picture pass. */
  private readonly offscreen = new THREE.Scene();
  private readonly marcher: THREE.Mesh<THREE.BoxGeometry, THREE.ShaderMaterial>;
  private readonly picture = new THREE.WebGLRenderTarget(1, 1, { depthBuffer: false, generateMipmaps: false, minFilter: THREE.LinearFilter, magFilter: THREE.LinearFilter });
  private drawnFor = '';
  private version = 0;
  /** Pictures drawn (tests: a still camera draws none). */
  marches = 0;
  private pick: { mode: PickMode; center: number; width: number } = { mode: 'volume', center: 40, width: 400 };

  constructor(private readonly brick: VolumeBrick, map: { U: Vec3; V: Vec3; W: Vec3; T: Vec3 }) {
    const { cols, rows } = brick.size;
    this.texture = new THREE.Data3DTexture(brick.data, cols, rows, brick.layers);
    this.texture.format = THREE.RedFormat;
    this.texture.type = THREE.HalfFloatType; // R16F: linear filtering without extensions in WebGL2
    this.texture.minFilter = this.texture.magFilter = THREE.LinearFilter;
    this.texture.wrapS = this.texture.wrapT = this.texture.wrapR = THREE.ClampToEdgeWrapping;
    this.texture.unpackAlignment = 1;
    this.texture.generateMipmaps = false;
    this.texture.needsUpdate = true;
    const blend = { side: THREE.BackSide, transparent: true, premultipliedAlpha: true, depthWrite: false } as const;
    this.marching = new THREE.ShaderMaterial({
      glslVersion: THREE.GLSL3,
      vertexShader: VERTEX,
      fragmentShader: FRAGMENT,
      uniforms: {
        uVolume: { value: this.texture },
        uSize: { value: new THREE.Vector3(cols, rows, brick.layers) },
        uLow: { value: -160 },
        uWidth: { value: 400 },
        uInvert: { value: 0 },
        uMode: { value: 1 },
      },
      ...blend,
    });
    this.composite = new THREE.ShaderMaterial({
      glslVersion: THREE.GLSL3,
      vertexShader: COMPOSITE_VERTEX,
      fragmentShader: COMPOSITE_FRAGMENT,
      uniforms: { uPicture: { value: this.picture.texture }, uBuffer: { value: new THREE.Vector2(1, 1) } },
      ...blend,
    });
    const box = new THREE.BoxGeometry(1, 1, 1).translate(0.5, 0.5, 0.5);
    this.mesh = new THREE.Mesh(box, this.composite);
    this.mesh.name = 'volume-render';
    this.mesh.matrixAutoUpdate = false;
    this.mesh.matrix.set(map.U[0], map.V[0], map.W[0], map.T[0], map.U[1], map.V[1], map.W[1], map.T[1], map.U[2], map.V[2], map.W[2], map.T[2], 0, 0, 0, 1);
    this.mesh.raycast = (raycaster, hits) => this.raycast(raycaster, hits);
    this.mesh.onBeforeRender = (renderer, _scene, camera) => this.drawPicture(renderer, camera);
    this.marcher = new THREE.Mesh(box, this.marching);
    this.marcher.matrixAutoUpdate = false;
    this.marcher.matrixWorldAutoUpdate = false;
    this.offscreen.add(this.marcher);
  }

  /** The window (transfer function), MONOCHROME1's inversion, and MIP or composited. */
  setView(mode: PickMode, center: number, width: number, invert: boolean): void {
    const u = this.marching.uniforms;
    const w = Math.max(1, width);
    const next = { uLow: center - w / 2, uWidth: w, uInvert: invert ? 1 : 0, uMode: mode === 'mip' ? 0 : 1 };
    for (const [k, v] of Object.entries(next)) {
      if (u[k]!.value !== v) {
        u[k]!.value = v;
        this.version++;
      }
    }
    this.pick = { mode, center, width: w };
  }

  /** Slices arrived: send the brick to the GPU again (throttled by the caller). */
  upload(): void {
    this.texture.needsUpdate = true;
    this.version++;
  }

  /**
   * Before the box is drawn: march the picture again if the camera, the box, the view or the screen changed.
   * (Nested rendering from onBeforeRender, as three.js's own Reflector does.) In XR, the box marches itself.
   */
  private drawPicture(renderer: THREE.WebGLRenderer, camera: THREE.Camera): void {
    const xr = renderer.xr.isPresenting;
    const want = xr ? this.marching : this.composite;
    if (this.mesh.material !== want) this.mesh.material = want; // from the next frame on
    if (xr) return;
    const buffer = renderer.getDrawingBufferSize(new THREE.Vector2());
    const w = Math.max(1, Math.round(buffer.x * RESOLUTION_SCALE));
    const h = Math.max(1, Math.round(buffer.y * RESOLUTION_SCALE));
    const sig = `${this.version}|${w}x${h}|${camera.matrixWorld.elements.join(',')}|${(camera as THREE.PerspectiveCamera).projectionMatrix.elements.join(',')}|${this.mesh.matrixWorld.elements.join(',')}`;
    (this.composite.uniforms['uBuffer']!.value as THREE.Vector2).copy(buffer);
    if (sig === this.drawnFor) return;
    this.drawnFor = sig;
    this.marches++;
    if (this.picture.width !== w || this.picture.height !== h) this.picture.setSize(w, h);
    this.marcher.matrixWorld.copy(this.mesh.matrixWorld);
    const target = renderer.getRenderTarget();
    const [xrEnabled, autoClear] = [renderer.xr.enabled, renderer.autoClear];
    const clearColour = renderer.getClearColor(new THREE.Color());
    const clearAlpha = renderer.getClearAlpha();
    renderer.xr.enabled = false;
    renderer.autoClear = false;
    renderer.setRenderTarget(this.picture);
    renderer.setClearColor(0x000000, 0);
    renderer.clear(true, false, false);
    renderer.render(this.offscreen, camera);
    renderer.setClearColor(clearColour, clearAlpha);
    renderer.setRenderTarget(target);
    renderer.xr.enabled = xrEnabled;
    renderer.autoClear = autoClear;
  }

  private raycast(raycaster: THREE.Raycaster, hits: THREE.Intersection[]): void {
    if (!this.mesh.visible) return;
    const inv = this.mesh.matrixWorld.clone().invert();
    const { origin, direction } = raycaster.ray;
    const o = origin.clone().applyMatrix4(inv);
    // One room metre along the ray, in texture coordinates (the map is affine): t stays in room metres.
    const e = origin.clone().add(direction).applyMatrix4(inv).sub(o);
    const t = pickRay(this.brick, [o.x, o.y, o.z], [e.x, e.y, e.z], this.pick, this.pick.mode);
    if (t === null || t < raycaster.near || t > raycaster.far) return;
    hits.push({ distance: t, point: raycaster.ray.at(t, new THREE.Vector3()), object: this.mesh });
  }

  /** The box's centre in the room (metres). */
  centre(): number[] {
    return new THREE.Vector3(0.5, 0.5, 0.5).applyMatrix4(this.mesh.matrix).toArray();
  }

  dispose(): void {
    this.texture.dispose();
    this.picture.dispose();
    this.mesh.geometry.dispose();
    this.marching.dispose();
    this.composite.dispose();
  }
}
