import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';

/**
 * Sample anatomical models generated at run time (nothing downloaded):
 * stylised heart, skull, femur, brain and an annotation pin. Uploaded assets
 * (`asset:<id>`) load as glTF from the server's /assets path.
 */
const bone = new THREE.MeshStandardMaterial({ color: 0xe8dcc0, roughness: 0.7 });
const muscle = new THREE.MeshStandardMaterial({ color: 0xb8333a, roughness: 0.5 });
const vessel = new THREE.MeshStandardMaterial({ color: 0x8c1d2a, roughness: 0.5 });
const tissue = new THREE.MeshStandardMaterial({ color: 0xe6a0a8, roughness: 0.8 });

function heart(): THREE.Object3D {
  const g = new THREE.Group();
  const lv = new THREE.Mesh(new THREE.SphereGeometry(0.06, 24, 16), muscle);
  lv.scale.set(1, 1.25, 1);
  lv.position.set(0.025, 0, 0);
  const rv = new THREE.Mesh(new THREE.SphereGeometry(0.055, 24, 16), muscle);
  rv.position.set(-0.035, 0.01, 0.01);
  const apex = new THREE.Mesh(new THREE.ConeGeometry(0.05, 0.08, 24), muscle);
  apex.position.set(0.01, -0.08, 0);
  apex.rotation.z = Math.PI;
  const aorta = new THREE.Mesh(new THREE.TorusGeometry(0.035, 0.012, 12, 24, Math.PI), vessel);
  aorta.position.set(0, 0.08, 0);
  const pulmonary = new THREE.Mesh(new THREE.CylinderGeometry(0.012, 0.012, 0.07, 12), vessel);
  pulmonary.position.set(-0.03, 0.09, 0.02);
  g.add(lv, rv, apex, aorta, pulmonary);
  return g;
}

function skull(): THREE.Object3D {
  const g = new THREE.Group();
  const cranium = new THREE.Mesh(new THREE.SphereGeometry(0.09, 32, 24), bone);
  cranium.scale.set(0.85, 1, 1.1);
  const jaw = new THREE.Mesh(new THREE.BoxGeometry(0.1, 0.04, 0.08), bone);
  jaw.position.set(0, -0.09, 0.04);
  const eyeGeo = new THREE.SphereGeometry(0.018, 12, 8);
  const socket = new THREE.MeshStandardMaterial({ color: 0x222222 });
  const l = new THREE.Mesh(eyeGeo, socket);
  l.position.set(-0.03, -0.01, 0.085);
  const r = l.clone();
  r.position.x = 0.03;
  g.add(cranium, jaw, l, r);
  return g;
}

function femur(): THREE.Object3D {
  const g = new THREE.Group();
  const shaft = new THREE.Mesh(new THREE.CylinderGeometry(0.014, 0.017, 0.4, 16), bone);
  const head = new THREE.Mesh(new THREE.SphereGeometry(0.024, 16, 12), bone);
  head.position.set(-0.03, 0.21, 0);
  const condyleL = new THREE.Mesh(new THREE.SphereGeometry(0.022, 16, 12), bone);
  condyleL.position.set(-0.015, -0.205, 0);
  const condyleR = condyleL.clone();
  condyleR.position.x = 0.015;
  g.add(shaft, head, condyleL, condyleR);
  return g;
}

function brain(): THREE.Object3D {
  const g = new THREE.Group();
  for (const x of [-0.035, 0.035]) {
    const hemi = new THREE.Mesh(new THREE.SphereGeometry(0.06, 24, 16), tissue);
    hemi.scale.set(0.8, 0.85, 1.2);
    hemi.position.x = x;
    g.add(hemi);
  }
  const stem = new THREE.Mesh(new THREE.CylinderGeometry(0.015, 0.012, 0.06, 12), tissue);
  stem.position.set(0, -0.06, -0.02);
  g.add(stem);
  return g;
}

export function pin(color = '#f5c542'): THREE.Object3D {
  const g = new THREE.Group();
  const mat = new THREE.MeshStandardMaterial({ color, emissive: color, emissiveIntensity: 0.3 });
  const tip = new THREE.Mesh(new THREE.ConeGeometry(0.012, 0.05, 12), mat);
  tip.rotation.z = Math.PI;
  tip.position.y = 0.025;
  const ball = new THREE.Mesh(new THREE.SphereGeometry(0.016, 12, 8), mat);
  ball.position.y = 0.06;
  g.add(tip, ball);
  return g;
}

const BUILTIN: Record<string, () => THREE.Object3D> = { heart, skull, femur, brain, pin: () => pin() };
export const BUILTIN_ASSETS = Object.keys(BUILTIN);

const loader = new GLTFLoader();

export function createModel(asset: string): THREE.Object3D {
  const [kind, name] = asset.split(':') as [string, string];
  if (kind === 'builtin' && BUILTIN[name]) return BUILTIN[name]!();
  const holder = new THREE.Group();
  holder.add(new THREE.Mesh(new THREE.BoxGeometry(0.1, 0.1, 0.1), new THREE.MeshStandardMaterial({ color: 0x667788, wireframe: true })));
  if (kind === 'asset') {
    loader.load(
      `/assets/${encodeURIComponent(name)}.glb`,
      (gltf) => {
        holder.clear();
        holder.add(gltf.scene);
      },
      undefined,
      () => {},
    );
  }
  return holder;
}
