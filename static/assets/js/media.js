// media.js — the studio's camera and microphone: preview, device pickers,
// switching devices while live.

import { h, replace } from './dom.js';

/** Camera owns the local MediaStream shown in the studio preview. */
export class Camera {
  constructor(video, { onChange = () => {} } = {}) {
    this.video = video;
    this.onChange = onChange;
    this.stream = null;
    this.videoDevice = '';
    this.audioDevice = '';
  }

  /** open asks for camera and microphone (the chosen ones, if any). */
  async open() {
    const constraints = {
      video: {
        deviceId: this.videoDevice ? { exact: this.videoDevice } : undefined,
        width: { ideal: 720 }, height: { ideal: 1280 }, frameRate: { ideal: 30 },
      },
      audio: {
        deviceId: this.audioDevice ? { exact: this.audioDevice } : undefined,
        echoCancellation: true, noiseSuppression: true,
      },
    };
    const next = await navigator.mediaDevices.getUserMedia(constraints);
    const old = this.stream;
    this.stream = next;
    this.video.srcObject = next;
    this.video.muted = true;
    await this.video.play().catch(() => {});
    const v = next.getVideoTracks()[0];
    const a = next.getAudioTracks()[0];
    this.videoDevice = v?.getSettings().deviceId || this.videoDevice;
    this.audioDevice = a?.getSettings().deviceId || this.audioDevice;
    this.onChange(next, old);
    old?.getTracks().forEach((t) => t.stop());
    return next;
  }

  /** devices lists cameras and microphones (labels appear after permission). */
  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      video: all.filter((d) => d.kind === 'videoinput'),
      audio: all.filter((d) => d.kind === 'audioinput'),
    };
  }

  /** fillPicker lists devices of a kind in a <select>, marking the one in use. */
  async fillPickers(videoSelect, audioSelect) {
    const { video, audio } = await this.devices();
    const options = (list, current, fallback) => list.map((d, i) =>
      h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${fallback} ${i + 1}`));
    replace(videoSelect, options(video, this.videoDevice, 'Camera'));
    replace(audioSelect, options(audio, this.audioDevice, 'Microphone'));
  }

  /** use switches to the chosen devices. */
  async use(videoDevice, audioDevice) {
    this.videoDevice = videoDevice;
    this.audioDevice = audioDevice;
    return this.open();
  }

  close() {
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
  }
}
