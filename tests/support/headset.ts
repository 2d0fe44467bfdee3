import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Meta's Immersive Web Emulation Runtime (iwer), as the browser loads it: the emulated headset of the AR tests. */
export const IWER = readFileSync(createRequire(import.meta.url).resolve('iwer/build/iwer.min.js'), 'utf8');

/**
 * Runs in the page before the app: installs the emulated headset (the app
 * sees navigator.xr as on a Quest 3), and a stand-in for the browser's
 * speech recogniser (no microphone here) that declares on-device
 * processing, so the test can speak to the real command path.
 */
export const HEADSET_INIT = `
  const device = new IWER.XRDevice(IWER.metaQuest3);
  device.installRuntime({ forceInstall: true }); // Chromium has a native navigator.xr (with no device behind it)
  // A minimal synthetic environment (iwer's SEM interface): an operating table whose top is 0.8 m above
  // the floor, for the headset's hit-test, and a dim backdrop standing in for camera passthrough.
  // (@iwer/sem ships captured rooms, not a table, as ES modules importing 'iwer' by bare name.)
  class OperatingTable {
    constructor() {
      this.trackedPlanes = new Set();
      this.trackedMeshes = new Set();
      this.environmentCanvas = document.createElement('canvas');
      this.environmentCanvas.style.cssText = 'position:absolute;inset:0;width:100%;height:100%;background:#101418';
    }
    render() {}
    loadEnvironment() {}
    loadDefaultEnvironment() {}
    deleteAll() {}
    computeDepthBuffer() { return null; }
    computeHitTestResults(m) {
      const o = [m[12], m[13], m[14]], d = [-m[8], -m[9], -m[10]];
      if (d[1] >= -1e-6) return [];
      const t = (0.8 - o[1]) / d[1];
      const x = o[0] + t * d[0], z = o[2] + t * d[2];
      if (t <= 0 || Math.abs(x) > 1 || z > -0.2 || z < -1.6) return [];
      window.__hitTests = (window.__hitTests || 0) + 1;
      return [new Float32Array([1,0,0,0, 0,1,0,0, 0,0,1,0, x,0.8,z,1])];
    }
  }
  device.installSEM(OperatingTable);
  window.__xrDevice = device;
  class LocalSpeech {
    constructor() { this.processLocally = false; this.onresult = null; this.onend = null; this.onerror = null; }
    start() { window.__speech = this; }
    stop() { window.__speech = null; }
    static available() { return Promise.resolve('available'); }
  }
  LocalSpeech.prototype.processLocally = false;
  window.SpeechRecognition = LocalSpeech;
  window.__say = (text) => {
    const r = window.__speech;
    if (!r || !r.processLocally) return false;
    const result = Object.assign([{ transcript: text }], { isFinal: true });
    r.onresult({ resultIndex: 0, results: [result] });
    return true;
  };
`;
