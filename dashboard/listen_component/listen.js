// Hearing live calls in the supervisor's browser (issue 26): up to four at once, each with
// its own level and mute, customer and agent on the left and right ears as an option.
//
// Each call is a WebSocket to the callback service's /listen/audio with a one-time ticket
// for that call and this supervisor. A binary message is one or more 20 ms frames: one
// byte of track (1 the customer, 2 the agent), two of length (big-endian) and the G.711
// μ-law at 8 kHz (160 bytes). They are decoded
// with a 256-entry table and played through Web Audio: each frame is an AudioBuffer
// (8 kHz: the browser resamples) scheduled right after the previous one of its track, a
// small jitter buffer (JITTER_S) ahead of the clock; a track that falls behind, or
// drifts too far ahead, starts again one jitter buffer from now (late audio is dropped,
// never slowed down). Text messages say who else hears the call, and why it ended.
// Every value is shown as text (textContent): names come from the roster and callers.
//
// Streamlit hears from it only through triggers: "ticket" (a socket closed unexpectedly:
// a new ticket for that call), "remove" (the × of a call), "next" (scan: the next call).

const RATE = 8000;
const JITTER_S = 0.08; // how far ahead of the clock a track is scheduled
const MAX_AHEAD_S = 0.5; // further ahead than this (a burst after a stall): start again
const CUSTOMER = 1, AGENT = 2;
const MAX_BACKOFF_MS = 30000;
const PREFS = "earpiece-listen"; // localStorage: volume, split, per-call levels

// G.711 μ-law to linear, as the standard decoder does (bias 0x84, inverted bits).
const MULAW = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const magnitude = (((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 0x07);
  MULAW[i] = ((u & 0x80) ? 0x84 - magnitude : magnitude - 0x84) / 32124;
}

// The reader's words (issue 25; board.js says how): `words` from the page, by English key.
let WORDS = {};
let NAMES = {}; // supervisor ID -> the roster's name

function t(text, values) {
  const said = Object.prototype.hasOwnProperty.call(WORDS, text) ? WORDS[text] : text;
  return values ? said.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m)) : said;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

function prefs() {
  try {
    return JSON.parse(localStorage.getItem(PREFS) || "{}");
  } catch (e) {
    return {};
  }
}

function savePrefs(p) {
  try {
    localStorage.setItem(PREFS, JSON.stringify(p));
  } catch (e) { /* private mode: the settings last for this page */ }
}

// One call being heard: its socket, its two tracks, its level.
class Ear {
  constructor(mixer, spec) {
    this.mixer = mixer;
    this.sid = spec.sid;
    this.frames = 0;
    this.next = {[CUSTOMER]: 0, [AGENT]: 0};
    this.root = el("div", "ep-ear");
    this.root.setAttribute("data-testid", "listen-call");
    this.root.setAttribute("data-sid", spec.sid);
    const head = el("div", "ep-ear-head");
    this.label = el("span", "ep-ear-label");
    this.state = el("span", "ep-ear-state", t("Connecting…"));
    this.state.setAttribute("data-testid", "listen-state");
    const remove = el("button", "ep-ear-remove", "×");
    remove.title = t("Stop hearing this call");
    remove.setAttribute("aria-label", t("Stop hearing this call"));
    remove.onclick = () => mixer.setTrigger("remove", {sid: this.sid, at: Date.now()});
    head.append(this.label, this.state, remove);
    const controls = el("div", "ep-ear-controls");
    const saved = (prefs().levels || {})[spec.sid];
    this.level = el("input", "ep-ear-level");
    Object.assign(this.level, {type: "range", min: "0", max: "100", value: String(saved ?? 80)});
    this.level.title = t("This call's level");
    this.level.setAttribute("aria-label", t("Level"));
    this.level.oninput = () => this.applyLevel(true);
    const muteLabel = el("label", "ep-ear-mute");
    this.mute = el("input");
    this.mute.type = "checkbox";
    this.mute.onchange = () => this.applyLevel(false);
    muteLabel.append(this.mute, el("span", null, " " + t("Mute")));
    controls.append(el("span", "ep-small", t("Level")), this.level, muteLabel);
    this.others = el("div", "ep-ear-others");
    this.others.setAttribute("data-testid", "listen-listeners");
    this.root.append(head, controls, this.others);
    const ctx = mixer.context();
    this.gain = ctx.createGain();
    this.gain.connect(mixer.master);
    this.pans = {};
    for (const track of [CUSTOMER, AGENT]) {
      const pan = ctx.createStereoPanner();
      pan.connect(this.gain);
      this.pans[track] = pan;
    }
    this.applySplit();
    this.applyLevel(false);
    this.update(spec);
  }

  update(spec) {
    this.spec = spec;
    this.label.textContent = spec.label || spec.sid;
    if (spec.url !== this.url && !this.finished) this.open(spec.url);
  }

  open(url) {
    if (this.socket) this.socket.close();
    this.url = url;
    if (!url) return;
    const socket = (this.socket = new WebSocket(url));
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      if (typeof event.data === "string") this.told(JSON.parse(event.data));
      else this.receive(new Uint8Array(event.data));
    };
    socket.onclose = () => {
      if (socket !== this.socket || this.finished) return;
      this.state.textContent = t("Reconnecting…");
      const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures || 0));
      this.failures = (this.failures || 0) + 1;
      clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        if (socket === this.socket && !this.finished) {
          this.mixer.setTrigger("ticket", {sid: this.sid, ticket: this.spec.ticket});
        }
      }, wait);
    };
  }

  told(message) {
    if (message.type === "hello" || message.type === "listeners") {
      this.failures = 0;
      if (message.type === "hello") this.state.textContent = t("Live");
      // By the roster's names, as the board says them (a trial found IDs here).
      const list = (message.listeners || []).map((id) =>
        Object.prototype.hasOwnProperty.call(NAMES, id) ? NAMES[id] : id);
      this.others.textContent = list.length
        ? t("Hearing in the browser: {who}", {who: list.join(t(", "))}) : "";
      return;
    }
    // ended | refused | signed-out: the last word of this socket.
    this.finished = true;
    this.root.classList.add("ep-ear-over");
    const what = {ended: "Ended", "signed-out": "Signed out", refused: "Refused"}[message.type];
    this.state.textContent = `${t(what || "Closed")}: ${message.reason || ""}`;
    if (this.socket) this.socket.close();
  }

  receive(bytes) {
    for (let at = 0; at + 3 <= bytes.length;) {
      const length = (bytes[at + 1] << 8) | bytes[at + 2];
      this.play(bytes[at], bytes.subarray(at + 3, at + 3 + length));
      at += 3 + length;
    }
  }

  play(track, mulaw) {
    const ctx = this.mixer.ctx;
    if (!ctx || !this.pans[track] || mulaw.length === 0) return;
    const samples = mulaw.length;
    const buffer = ctx.createBuffer(1, samples, RATE);
    const out = buffer.getChannelData(0);
    for (let i = 0; i < samples; i++) out[i] = MULAW[mulaw[i]];
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.pans[track]);
    const now = ctx.currentTime;
    let at = this.next[track];
    if (at < now + 0.005 || at > now + MAX_AHEAD_S) at = now + JITTER_S;
    source.start(at);
    this.next[track] = at + buffer.duration;
    this.frames += 1;
    if (!this.firstAudioAt) {
      this.firstAudioAt = performance.now();
      this.state.textContent = t("Live");
    }
  }

  applyLevel(save) {
    const value = this.mute.checked ? 0 : Number(this.level.value) / 100;
    this.gain.gain.setTargetAtTime(value, this.mixer.ctx.currentTime, 0.02);
    if (save) {
      const p = prefs();
      p.levels = {...(p.levels || {}), [this.sid]: Number(this.level.value)};
      savePrefs(p);
    }
  }

  applySplit() {
    const split = this.mixer.split.checked;
    this.pans[CUSTOMER].pan.value = split ? -1 : 0;
    this.pans[AGENT].pan.value = split ? 1 : 0;
  }

  close() {
    this.finished = true;
    clearTimeout(this.retry);
    if (this.socket) this.socket.close();
    this.gain.disconnect();
    this.root.remove();
  }
}

class Mixer {
  constructor(parent) {
    this.root = el("div", "ep-listen");
    this.root.setAttribute("data-testid", "listen-player");
    const bar = el("div", "ep-listen-bar");
    const p = prefs();
    this.volume = el("input", "ep-listen-volume");
    Object.assign(this.volume, {type: "range", min: "0", max: "100", value: String(p.volume ?? 80)});
    this.volume.setAttribute("aria-label", t("Volume"));
    this.volume.oninput = () => this.applyVolume();
    const splitLabel = el("label", "ep-listen-split");
    this.split = el("input");
    this.split.type = "checkbox";
    this.split.checked = Boolean(p.split);
    this.split.setAttribute("data-testid", "listen-split");
    this.split.onchange = () => {
      for (const ear of this.ears.values()) ear.applySplit();
      savePrefs({...prefs(), split: this.split.checked});
    };
    splitLabel.append(this.split, el("span", null, " " + t("Customer left, agent right")));
    this.start = el("button", "ep-listen-start", "▶ " + t("Start audio"));
    this.start.hidden = true;
    this.start.onclick = () => this.context().resume().then(() => this.showStart());
    this.scan = el("span", "ep-listen-scan");
    bar.append(el("span", "ep-small", t("Volume")), this.volume, splitLabel, this.start, this.scan);
    this.list = el("div", "ep-listen-list");
    this.root.append(bar, this.list);
    parent.append(this.root);
    this.ears = new Map(); // sid -> Ear
  }

  context() {
    if (!this.ctx) {
      const ctx = (this.ctx = new AudioContext());
      this.master = ctx.createGain();
      this.master.connect(ctx.destination);
      // Left and right, as heard: what the page's tests (and a level meter) read.
      const splitter = ctx.createChannelSplitter(2);
      this.master.connect(splitter);
      this.analysers = [0, 1].map((channel) => {
        const analyser = ctx.createAnalyser();
        analyser.fftSize = 4096;
        splitter.connect(analyser, channel);
        return analyser;
      });
      this.applyVolume();
      ctx.onstatechange = () => this.showStart();
      window.__earpieceListen = this;
    }
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    this.showStart();
    return this.ctx;
  }

  showStart() {
    // A browser that blocks sound until the page is touched: one click starts it.
    this.start.hidden = !this.ctx || this.ctx.state !== "suspended";
  }

  applyVolume() {
    if (this.master) this.master.gain.value = Number(this.volume.value) / 100;
    savePrefs({...prefs(), volume: Number(this.volume.value)});
  }

  configure(data, setTrigger) {
    this.setTrigger = setTrigger;
    const wanted = new Map((data.calls || []).map((c) => [c.sid, c]));
    for (const [sid, ear] of this.ears) {
      if (!wanted.has(sid)) {
        ear.close();
        this.ears.delete(sid);
      }
    }
    for (const [sid, spec] of wanted) {
      const ear = this.ears.get(sid);
      if (ear && ear.finished && spec.ticket !== ear.spec.ticket) {
        ear.close();
        this.ears.delete(sid);
      }
      if (this.ears.has(sid)) this.ears.get(sid).update(spec);
      else {
        const made = new Ear(this, spec);
        this.ears.set(sid, made);
        this.list.append(made.root);
      }
    }
    this.root.hidden = this.ears.size === 0;
    clearTimeout(this.scanTimer);
    const scan = data.scan;
    this.scan.textContent = scan ? t("Scanning: {seconds} s a call", {seconds: scan.seconds}) : "";
    if (scan && scan.sid) {
      this.scanTimer = setTimeout(
        () => this.setTrigger("next", {sid: scan.sid, at: Date.now()}), scan.seconds * 1000);
    }
  }

  close() {
    clearTimeout(this.scanTimer);
    for (const ear of this.ears.values()) ear.close();
    this.ears.clear();
    if (this.ctx) this.ctx.close();
    if (window.__earpieceListen === this) delete window.__earpieceListen;
    this.root.remove();
  }
}

export default function (component) {
  const {data, setTriggerValue, parentElement} = component;
  if (data.words) WORDS = data.words;
  if (data.supervisors) NAMES = data.supervisors;
  let mixer = parentElement.__earpieceListen;
  if (!mixer) mixer = parentElement.__earpieceListen = new Mixer(parentElement);
  clearTimeout(mixer.closing);
  mixer.configure(data, setTriggerValue);
  return () => {
    mixer.closing = setTimeout(() => {
      mixer.close();
      delete parentElement.__earpieceListen;
    }, 1000);
  };
}
