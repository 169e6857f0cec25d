// A call's live transcript in the supervisor's browser, straight from the callback
// service's `/events/transcript` stream (one-time ticket): lines arrive as Twilio's
// callbacks do, partials shown as partial and replaced by their final. The box follows
// the newest line unless the reader scrolled up (then a "new lines" button). Every value
// is set as text (textContent), never as HTML: a transcript is whatever someone said.

const FOLLOW_SLACK_PX = 24; // this close to the bottom still counts as following
const MAX_BACKOFF_MS = 30000;
const MAX_LINES = 1000; // a long call's page keeps its newest lines

// The reader's words (issue 25; board.js says how): `words` from the page, by English key.
let WORDS = {};

function t(text, values) {
  const said = Object.prototype.hasOwnProperty.call(WORDS, text) ? WORDS[text] : text;
  return values ? said.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m)) : said;
}

// What the masking put in place of a number (live/redact.py's markers), in the reader's words.
function markerWords(text) {
  if (!text.includes("[")) return text; // most lines: nothing masked (this runs per cell)
  return text.split("[card number]").join(t("[card number]")).split("[digits]").join(t("[digits]"));
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

// The floor's clock (issue 25): times as the floor reads them, in EARPIECE_TIMEZONE and the
// reader's language, whatever zone this browser's machine is set to. The page passes
// {zone, lang}; Intl.DateTimeFormat with timeZone does the rest (one formatter kept per pair).
const FORMATTERS = new Map();

function floorTime(stamp, place, withZone = true) {
  const zone = (place && place.zone) || "UTC";
  const lang = (place && place.lang) || "en";
  const key = `${zone}|${lang}|${withZone}`;
  let format = FORMATTERS.get(key);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat(lang, {
        timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit",
        hourCycle: "h23", ...(withZone ? {timeZoneName: "short"} : {}),
      });
    } catch (error) {
      format = {format: (d) => d.toISOString().slice(11, 19) + (withZone ? " UTC" : "")};
    }
    FORMATTERS.set(key, format);
  }
  return format.format(stamp);
}

let PLACE = null; // the page's {zone, lang}, set by configure

function hhmmss(iso) {
  return iso ? floorTime(new Date(iso), PLACE, false) : "";
}

class Transcript {
  constructor(parent) {
    this.root = el("div", "ep-tx");
    this.state = el("div", "ep-tx-state", t("Connecting…"));
    this.hits = el("div", "ep-tx-hits");
    this.box = el("div", "ep-tx-box");
    this.box.setAttribute("data-testid", "transcript-box");
    this.more = el("button", "ep-tx-more", t("New lines ↓"));
    this.more.hidden = true;
    this.more.onclick = () => this.toBottom();
    this.box.addEventListener("scroll", () => {
      if (this.atBottom()) this.more.hidden = true;
    });
    this.root.append(this.state, this.hits, this.box);
    parent.append(this.root);
    this.finals = new Map(); // id -> line
    this.partials = new Map(); // speaker -> line
  }

  configure(data, setTrigger) {
    this.setTrigger = setTrigger;
    this.data = data;
    PLACE = data.clock || null;
    if (data.url === this.url) return;
    if (this.source) this.source.close();
    this.url = data.url;
    if (!data.url) return;
    const source = (this.source = new EventSource(data.url));
    source.addEventListener("snapshot", (e) => {
      this.failures = 0;
      const body = JSON.parse(e.data);
      this.finals.clear();
      this.partials.clear();
      for (const line of body.lines || []) this.add(line);
      this.showState(body.transcript, body.phrases);
      this.draw(true);
    });
    source.addEventListener("transcript", (e) => {
      this.add(JSON.parse(e.data).line);
      this.draw(false);
    });
    source.addEventListener("state", (e) => {
      const body = JSON.parse(e.data);
      this.showState(body.transcript, body.phrases);
    });
    source.addEventListener("signed-out", () => source.close());
    source.onerror = () => {
      if (source !== this.source || source.readyState !== EventSource.CLOSED) return;
      this.state.textContent = t("Reconnecting to the live transcript…");
      const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures || 0));
      this.failures = (this.failures || 0) + 1;
      clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        if (source === this.source) this.setTrigger("refresh", {reason: "ticket", ticket: data.ticket});
      }, wait);
    };
  }

  add(line) {
    if (!line) return;
    if (line.final) {
      if (line.id) this.finals.set(line.id, line);
      else this.finals.set(`${line.at}|${line.speaker}|${line.text}`, line);
      const partial = this.partials.get(line.speaker);
      if (partial && this.sameRun(partial, line) && partial.seq < line.seq) {
        this.partials.delete(line.speaker);
      }
      if (this.finals.size > MAX_LINES) {
        this.finals.delete(this.finals.keys().next().value);
      }
    } else {
      const current = this.partials.get(line.speaker);
      const newest = [...this.finals.values()].filter(
        (f) => f.speaker === line.speaker && this.sameRun(f, line));
      if (newest.some((f) => f.seq >= line.seq)) return; // a late partial: its final is here
      // The same seq again is a correction (a number later judged part of a card): it replaces.
      if (!current || !this.sameRun(current, line) || current.seq <= line.seq) {
        this.partials.set(line.speaker, line);
      }
    }
  }

  sameRun(a, b) {
    return (a.id || "").split(":")[0] === (b.id || "").split(":")[0];
  }

  atBottom() {
    const box = this.box;
    return box.scrollHeight - box.scrollTop - box.clientHeight <= FOLLOW_SLACK_PX;
  }

  toBottom() {
    this.box.scrollTop = this.box.scrollHeight;
    this.more.hidden = true;
  }

  draw(first) {
    const following = first || this.atBottom();
    const keep = this.box.scrollTop;
    const lines = [...this.finals.values(), ...this.partials.values()];
    lines.sort((a, b) => (a.at || "").localeCompare(b.at || "") || (a.seq || 0) - (b.seq || 0)
      || (a.final === b.final ? 0 : a.final ? -1 : 1));
    const rows = lines.map((line) => {
      const row = el("div", "ep-tx-line" + (line.final ? "" : " ep-partial"));
      row.setAttribute("data-testid", line.final ? "transcript-line" : "transcript-partial");
      row.append(
        el("span", "ep-tx-who ep-" + (line.speaker === "customer" ? "customer" : "agent"),
          line.speaker === "customer" ? t("Customer") : t("Agent")),
        el("span", "ep-tx-at", hhmmss(line.at)),
        el("span", "ep-tx-text", markerWords(line.final ? line.text : `${line.text} …`)),
      );
      return row;
    });
    if (!rows.length) rows.push(el("div", "ep-tx-empty", t("No words yet.")));
    this.box.replaceChildren(...rows, this.more);
    if (following) this.toBottom();
    else {
      this.box.scrollTop = keep;
      this.more.hidden = false;
    }
  }

  showState(tx, phrases) {
    const state = (tx && tx.state) || "off";
    const text = {
      on: t("Transcribing live (card numbers are masked)."),
      starting: t("Starting the transcription…"),
      paused: t("Paused for a payment by {who} — nothing said now is transcribed.",
        {who: tx && tx.paused_by}),
      error: t("The transcription failed: {error}", {error: tx && tx.error}),
      off: t("Not being transcribed now."),
    }[state] || state;
    this.state.textContent = text;
    this.state.className = "ep-tx-state" + (state === "paused" ? " ep-paused" : "")
      + (state === "error" ? " ep-error" : "");
    this.state.setAttribute("data-testid", "transcript-state");
    // One box per phrase, its newest saying and how often (issue 28: a customer repeating
    // "cancel my account" stacked identical boxes).
    const byPhrase = new Map();
    for (const hit of phrases || []) {
      const key = String(hit.phrase).toLowerCase();
      const seen = byPhrase.get(key);
      const at = (hit.line && hit.line.at) || "";
      if (!seen) byPhrase.set(key, {hit, count: 1});
      else {
        seen.count += 1;
        if (at > ((seen.hit.line && seen.hit.line.at) || "")) seen.hit = hit;
      }
    }
    const hits = [...byPhrase.values()].map(({hit, count}) => {
      const row = el("div", "ep-tx-hit" + (hit.muted ? " ep-muted" : ""));
      row.setAttribute("data-testid", "transcript-phrase");
      const who = hit.line && hit.line.speaker === "customer" ? t("Customer") : t("Agent");
      const times = count > 1 ? " " + t("(said {count} times; the latest)", {count}) : "";
      row.textContent = t("“{phrase}”{times} — {who} at {time}: ", {
        phrase: hit.phrase, times, who, time: hhmmss(hit.line && hit.line.at)})
        + `${markerWords((hit.line && hit.line.text) || "")}${hit.muted ? " " + t("(muted)") : ""}`;
      return row;
    });
    this.hits.replaceChildren(...hits);
  }

  close() {
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.root.remove();
  }
}

export default function (component) {
  const {data, setTriggerValue, parentElement} = component;
  if (data.words) WORDS = data.words;
  let view = parentElement.__earpieceTranscript;
  if (!view) view = parentElement.__earpieceTranscript = new Transcript(parentElement);
  clearTimeout(view.closing);
  view.configure(data, setTriggerValue);
  return () => {
    view.closing = setTimeout(() => {
      view.close();
      delete parentElement.__earpieceTranscript;
    }, 1000);
  };
}
