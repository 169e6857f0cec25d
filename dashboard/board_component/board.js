// The live board in the supervisor's browser: KPI tiles, the call table and its footer.
//
// It subscribes to the callback service's GET /events/board (one view: the
// page's filters) with a one-time ticket, applies each message (the whole view,
// or the rows that changed since the version it holds), and ticks durations
// itself from the instants the rows carry, so the server does nothing per
// watcher per second. Every value is set as text (textContent), never as
// markup: names come from callers, agents and supervisors.
//
// Streamlit hears from it only when something Streamlit itself shows must
// change (trigger "refresh"): someone asks for help, the supervisor's own leg
// changed, the chosen call changed or left, or the stream needs a new ticket.
// A row click is the trigger "select".

const COLUMNS = [
  ["agent", "Agent"], ["team", "Team"], ["queue", "Queue"], ["customer", "Customer"],
  ["state", "State"], ["duration", "Duration"], ["hold", "On hold"], ["holds", "Holds"],
  ["monitoring", "Monitoring"], ["speaking", "Speaking"], ["talk", "Agent talk"],
  ["silence", "Silence"], ["alerts", "Alerts"], ["said", "Last said"], ["score", "Attention"],
  ["why", "Why"],
];
const TILES = [
  ["live", "Live calls"], ["waiting", "Waiting"], ["on_hold", "On hold"],
  ["monitored", "Monitored"], ["longest_call", "Longest call"], ["longest_wait", "Longest wait"],
];
// The reader's words (issue 25): the page passes `words`, each English label in the reader's
// language (dashboard/component_words.py, from the gettext catalogues), and `plurals`, each
// counted phrase's [one, other] forms. `t` looks a label up (the English when it has none)
// and fills its {placeholders}; a translation may order them as its language needs.
let WORDS = {};
let PLURALS = {};
// Supervisors' names by id (the roster's, from the dashboard), for the Monitoring column.
let SUPERVISORS = {};

// The service's reasons for a floor out of reach are English on the stream
// (live/board_hub.py); the known ones are read back in the reader's words, the technical
// detail after them kept as it is.
const OUT_OF_REACH = "The live floor is out of reach";
const NOT_ANSWERING = "The live floor is out of reach (Redis is not answering)";

function statusReason(message) {
  if (message === NOT_ANSWERING) return t(NOT_ANSWERING);
  if (message && message.startsWith(OUT_OF_REACH)) {
    return t(OUT_OF_REACH) + message.slice(OUT_OF_REACH.length);
  }
  return message;
}

function t(text, values) {
  const said = Object.prototype.hasOwnProperty.call(WORDS, text) ? WORDS[text] : text;
  return values ? said.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m)) : said;
}

function tn(one, other, n, values) {
  const forms = PLURALS[one] || [one, other];
  const form = n === 1 ? forms[0] : forms[1];
  return form.replace(/\{(\w+)\}/g, (m, k) => (k === "n" ? String(n) : k in values ? String(values[k]) : m));
}

// The Why column: live/attention.py writes its reasons in English on the stream (the API's
// text, unchanged); each is read back against its English template and written again in the
// reader's words with the same values. `reasons`: [English template, translation] pairs.
let REASONS = [];

function why(text, row) {
  if (!text || !REASONS.length) return text;
  return text.split("; ").map((part) => {
    for (const [pattern, names, said] of REASONS) {
      const found = pattern.exec(part);
      if (!found) continue;
      const values = {};
      names.forEach((name, i) => { values[name] = found[i + 1]; });
      // The row's own agent, named as its Agent cell names them ("田中 愛 (tara)").
      if (row && values.agent === row.agent) values.agent = agentLabel(row);
      // A phrase the reader may not read (another team's call: live/words.py withholds it)
      // is a sentence of its own: "the call said {phrase}" with "a phrase" in it read, in
      // Japanese, as if the word フレーズ had been said (a trial).
      if (values.phrase !== undefined && !values.phrase.includes("“")) {
        return t("the call said a phrase to watch");
      }
      if (values.phrase !== undefined) values.phrase = phraseWords(values.phrase);
      return said.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
    }
    return part;
  }).join(t("; "));
}

// The phrases a reason names (live/attention.py writes “a”, “b”), each quoted and the list
// joined as the reader's language does (「責任者」、「解約」: a trial found the English marks).
function phraseWords(value) {
  const said = [...value.matchAll(/“([^”]*)”/g)].map((m) => t("“{phrase}”", {phrase: m[1]}));
  return said.length ? said.join(t(", ")) : t(value);
}

// An agent as the roster names them, with the ID: "田中 愛 (tara)" (live/names.py label).
function agentLabel(row) {
  return row.agent_name ? `${row.agent_name} (${row.agent})` : row.agent;
}

function learnReasons(pairs) {
  REASONS = (pairs || []).map(([english, said]) => {
    const names = [];
    const source = english.split(/(\{\w+\})/).map((piece) => {
      const name = /^\{(\w+)\}$/.exec(piece);
      if (name) { names.push(name[1]); return "(.+?)"; }
      return piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }).join("");
    return [new RegExp(`^${source}$`), names, said];
  });
}

// Words for codes the stream carries (live/board.py row states and alerts; live/queues.py).
const STATE_WORDS = {waiting: "waiting", talking: "talking", hold: "hold"};

function alertWords(text) {
  if (!text) return text;
  return text.split(" · ").map((code) => t(code)).join(" · ");
}

// Who monitors the call (live/board.py `monitors`): each supervisor by the roster's name and
// the mode in the reader's words (`monitoring` is the same in English, for the API).
function monitorWords(row) {
  if (!Array.isArray(row.monitors)) return row.monitoring || "";
  return row.monitors.map((m) => {
    const name = Object.prototype.hasOwnProperty.call(SUPERVISORS, m.id) ? SUPERVISORS[m.id] : m.id;
    if (m.browser) return t("{name} (listen · browser)", {name});
    const mode = t(m.mode);
    return t(m.dialing ? "{name} ({mode} · dialing)" : "{name} ({mode})", {name, mode});
  }).join(t(", "));
}

// What the masking put in place of a number (live/redact.py's markers, kept as they are on
// the API) in the reader's words: a trial found "[card number]" in a Japanese line.
function markerWords(text) {
  if (!text.includes("[")) return text; // most lines: nothing masked (this runs per cell)
  return text.split("[card number]").join(t("[card number]")).split("[digits]").join(t("[digits]"));
}

// "customer: …" (live/board.py `said`): the speaker is Earpiece's word, the rest theirs.
function saidWords(text) {
  const found = /^(customer|agent): /.exec(text || "");
  if (!found) return markerWords(text || "");
  const rest = markerWords(text.slice(found[0].length));
  return `${t(found[1] === "customer" ? "Customer" : "Agent")}: ${rest}`;
}

// Who is speaking (live/board.py `speaking`: "agent", "customer" or "agent + customer", the
// API's codes) in the reader's words (a trial found the codes on a Japanese board).
function speakingWords(text) {
  if (!text) return "";
  return text.split(" + ").map((who) => (who === "customer" ? t("Customer")
    : who === "agent" ? t("Agent") : who)).join(" + ");
}

const SILENCE_SHOWN_SECONDS = 5; // a shorter silence is a pause, not worth a cell
const TICK_MS = 1000;
const REASK_MS = 3000; // a redraw asked for and not seen in this long is asked for again
const REASKS = 3;
const MAX_BACKOFF_MS = 30000; // between attempts to reach a floor that does not answer

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

function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

function since(ms, now) {
  return ms == null ? null : Math.max(0, (now - ms) / 1000);
}

// What the chosen call's controls depend on (live/board.py control_key says the same).
function controlKey(row) {
  return [row.agent, row.state, row.monitoring, row.alerts].join("|");
}

// A stream the service refused, or one the browser gave up on: ask Streamlit for a new
// ticket (`ask`), backing off so that a floor that is down is not asked about several
// times a second. Returns the wait, in ms.
function retryWithNewTicket(owner, source, ask) {
  const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (owner.failures || 0));
  owner.failures = (owner.failures || 0) + 1;
  clearTimeout(owner.retry);
  owner.retry = setTimeout(() => {
    if (source === owner.source) ask();
  }, wait);
  return wait;
}

// Take the page's data, and open its stream unless that one is open already: the new
// EventSource, or null when the stream is unchanged.
function follow(owner, data, setTrigger) {
  owner.setTrigger = setTrigger;
  owner.data = data;
  if (data.url === owner.url) return null;
  if (owner.source) owner.source.close();
  owner.url = data.url;
  return (owner.source = new EventSource(data.url));
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

class Board {
  constructor(parent) {
    this.root = el("div", "ep-board");
    this.status = el("div", "ep-status", t("Connecting to the live floor…"));
    this.status.setAttribute("role", "status");
    this.tiles = {};
    const tiles = el("div", "ep-tiles");
    for (const [name, label] of TILES) {
      const tile = el("div", "ep-tile");
      tile.dataset.tile = name;
      tile.append(el("div", "ep-label", t(label)));
      this.tiles[name] = tile.appendChild(el("div", "ep-value", "–"));
      tiles.append(tile);
    }
    const wrap = el("div", "ep-wrap");
    // A named region; Tab stops once in it, on one row (a roving tabindex: the chosen row,
    // else the first), arrows move between rows, Enter or Space chooses (issue 28).
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", t("Live calls"));
    const table = el("table", "ep-table");
    table.createCaption().textContent =
      t("Live calls: Tab to a row, arrow keys to move, Enter to choose it");
    const head = table.createTHead().insertRow();
    for (const [name, label] of COLUMNS) {
      const th = head.appendChild(el("th", null, t(label)));
      th.dataset.col = name;
      th.title = t(label);
    }
    // The columns the supervisor hid (the page's Columns choice): one rule per column.
    this.hiding = this.root.appendChild(document.createElement("style"));
    this.body = table.createTBody();
    wrap.append(table);
    this.footer = el("div", "ep-footer", "");
    this.root.append(this.status, tiles, wrap, this.footer);
    parent.append(this.root);

    this.rows = new Map(); // sid -> {row, tr}
    this.order = [];
    this.version = 0;
    this.offset = 0; // server clock minus this browser's clock
    this.url = null;
    this.source = null;
    this.triggered = new Map(); // what was already asked of Streamlit -> when (ms)
    // check() each tick too: a quiet floor sends no event to re-ask a redraw by.
    this.ticker = setInterval(() => { this.tick(); this.checkSilence(); this.check(); }, TICK_MS);
    this.body.addEventListener("click", (event) => {
      const tr = event.target.closest("tr[data-sid]");
      if (tr) this.choose(tr);
    });
    this.body.addEventListener("keydown", (event) => {
      const tr = event.target.closest("tr[data-sid]");
      if (!tr) return;
      const moves = {
        ArrowDown: tr.nextElementSibling, ArrowUp: tr.previousElementSibling,
        Home: this.body.firstElementChild, End: this.body.lastElementChild,
      };
      if (event.key in moves) {
        event.preventDefault();
        if (moves[event.key]) this.focusRow(moves[event.key]);
      } else if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        this.choose(tr);
      }
    });
  }

  configure(data, setTrigger) {
    this.setTrigger = setTrigger;
    this.data = data;
    const hidden = new Set(data.hidden || []);
    this.hiding.textContent = COLUMNS.filter(([, label]) => hidden.has(label))
      .map(([name]) => `.ep-table [data-col="${name}"] { display: none; }`).join("\n");
    if (data.url !== this.url) this.connect(data.url);
    this.select(data.selected ? data.selected.sid : null);
    this.check();
  }

  connect(url) {
    if (this.source) this.source.close();
    this.url = url;
    this.version = 0;
    this.showStatus(t("Connecting to the live floor…"));
    const source = (this.source = new EventSource(url));
    this.heardAt = null;  // counted from the first event: until then the page says "Connecting"
    // Every event says the stream is alive; `unchanged` comes on each pass that moved
    // nothing in this view (CONTRACT.md), so a quiet floor is never taken for a dead stream.
    const heard = () => this.heard();
    ["status", "board", "unchanged", "me"].forEach((name) => source.addEventListener(name, heard));
    source.addEventListener("status", (e) => {
      const status = JSON.parse(e.data);
      this.failures = 0;
      // Out of reach: the clocks stop and the board is greyed, so nobody reads a frozen
      // floor as live; the service says ok again (and sends the floor) when Redis answers.
      this.setStale(!status.ok);
      this.showStatus(status.ok ? null
        : t("{reason}. The floor shows again as soon as it answers.", {reason: statusReason(status.message)}));
    });
    source.addEventListener("board", (e) => this.apply(JSON.parse(e.data)));
    // Signed out, here or in another browser: Streamlit redraws, and shows the sign-in form.
    source.addEventListener("signed-out", () => {
      source.close();
      this.showStatus(t("Signed out."));
      this.ask("signed-out:" + this.data.ticket, {reason: "signed-out"});
    });
    source.addEventListener("me", (e) => {
      this.me = JSON.parse(e.data);
      this.check();
    });
    source.onopen = () => {
      this.errors = 0;
    };
    source.onerror = () => {
      if (source !== this.source) return;
      this.errors = (this.errors || 0) + 1;
      if (source.readyState !== EventSource.CLOSED) {
        // Out of reach: the browser itself tries again every few seconds.
        const where = new URL(this.url).host;
        this.showStatus(this.errors > 1
          ? t("Cannot reach the live floor at {host}; trying again…", {host: where})
          : t("Reconnecting to the live floor…"));
        return;
      }
      // Refused (a ticket is single use; the service may have restarted): a new ticket.
      const wait = retryWithNewTicket(this, source, () =>
        this.ask("ticket:" + this.data.ticket, {reason: "ticket", ticket: this.data.ticket}));
      this.showStatus(this.failures > 1
        ? t("The live floor at {host} refused the stream; trying again in {seconds} s…",
          {host: new URL(this.url).host, seconds: Math.round(wait / 1000)})
        : t("Reconnecting to the live floor…"));
    };
  }

  showStatus(text) {
    this.status.textContent = text || "";
    this.status.hidden = !text;
  }

  heard() {
    this.heardAt = Date.now();
    if (!this.silent) return;
    // The stream spoke again after a silence: the board is live again (a `status` that says
    // otherwise comes in the same event and greys it once more).
    this.silent = false;
    this.setStale(false);
    this.showStatus(null);
  }

  // A stream that stays open but says nothing (a proxy holding the events back, a service
  // that stopped passing): past `silent_after_ms` (three refresh periods, at least 5 s) the
  // board greys and stops its clocks, as it does when the service says Redis is out of reach.
  checkSilence() {
    const limit = this.data && this.data.silent_after_ms;
    if (!limit || !this.source || this.heardAt === null || this.stale || this.silent) return;
    const quiet = Date.now() - this.heardAt;
    if (this.source.readyState !== EventSource.OPEN || quiet <= limit) return;
    this.silent = true;
    this.setStale(true);
    this.showStatus(t("No news from the live floor for {seconds} s; the board is paused until it speaks again.",
      {seconds: Math.round(quiet / 1000)}));
  }

  setStale(stale) {
    this.stale = stale;
    this.root.classList.toggle("ep-stale", stale);
    this.root.dataset.stale = stale ? "true" : "false";
    if (!stale) this.tick();
  }

  apply(message) {
    if (message.base !== null && message.base !== this.version) {
      // Cannot happen on one stream (the server knows what it sent); start over.
      this.connect(this.url);
      return;
    }
    if (message.base === null) {
      for (const entry of this.rows.values()) entry.tr.remove();
      this.rows.clear();
    }
    this.offset = message.at - Date.now();
    const now = message.at;
    for (const [sid, row] of Object.entries(message.rows)) {
      let entry = this.rows.get(sid);
      if (!entry) {
        const tr = this.body.insertRow();
        tr.dataset.sid = sid;
        tr.tabIndex = -1;
        for (const [name] of COLUMNS) tr.insertCell().dataset.col = name;
        entry = {tr};
        this.rows.set(sid, entry);
      }
      entry.row = row;
      this.fill(entry, now);
    }
    const keep = new Set(message.order);
    for (const [sid, entry] of this.rows) {
      if (!keep.has(sid)) {
        entry.tr.remove();
        this.rows.delete(sid);
      }
    }
    // Put the rows in the view's order, moving only those out of place.
    let at = this.body.firstElementChild;
    for (const sid of message.order) {
      const tr = this.rows.get(sid).tr;
      if (tr === at) at = at.nextElementSibling;
      else this.body.insertBefore(tr, at);
    }
    this.order = message.order;
    this.rove();
    this.version = message.v;
    this.live = message.live;
    this.matched = message.matched;
    this.kpis = message.kpis;
    this.help = message.help;
    this.stamp = new Date(message.at);
    this.root.dataset.version = String(message.v);
    this.tiles.live.textContent = String(message.kpis.live);
    // Callers waiting: for an agent in a conference, and in TaskRouter's queues.
    this.tiles.waiting.textContent = String(message.kpis.waiting + (message.queued || 0));
    this.tiles.on_hold.textContent = String(message.kpis.on_hold);
    this.tiles.monitored.textContent = String(message.kpis.monitored);
    this.select(this.selected);
    this.tick();
    this.check();
  }

  fill(entry, now) {
    const row = entry.row;
    const cells = entry.tr.cells;
    const text = {
      agent: (row.sid === this.selected ? "▶ " : "") + agentLabel(row),
      team: row.team, queue: row.queue, customer: row.customer,
      state: row.state in STATE_WORDS ? t(STATE_WORDS[row.state]) : row.state,
      holds: row.holds ? String(row.holds) : "", monitoring: monitorWords(row),
      speaking: speakingWords(row.speaking), talk: row.talk, alerts: alertWords(row.alerts), said: saidWords(row.said),
      score: String(row.score), why: why(row.why, row),
    };
    COLUMNS.forEach(([name], i) => {
      if (name in text && cells[i].textContent !== text[name]) {
        cells[i].textContent = text[name];
        cells[i].title = text[name]; // any cell may be cut to fit: its whole text on hover
      }
    });
    entry.tr.classList.toggle("ep-help", row.alerts.startsWith("HELP"));
    entry.tr.classList.toggle("ep-hold", row.state === "hold");
    this.tickRow(entry, now);
  }

  tickRow(entry, now) {
    const row = entry.row;
    const cells = entry.tr.cells;
    const silent = since(row.silent_ms, now);
    const values = [
      clock(since(row.started_ms, now) || 0),
      row.hold_ms != null ? clock(since(row.hold_ms, now)) : "",
      silent != null && silent >= SILENCE_SHOWN_SECONDS ? clock(silent) : "",
    ];
    [5, 6, 11].forEach((col, i) => {
      if (cells[col].textContent !== values[i]) cells[col].textContent = values[i];
    });
  }

  tick() {
    if (!this.kpis || this.stale) return;  // a floor out of reach does not tick as if live
    const now = Date.now() + this.offset;
    for (const entry of this.rows.values()) this.tickRow(entry, now);
    this.tiles.longest_call.textContent = clock(since(this.kpis.oldest_call_ms, now) || 0);
    this.tiles.longest_wait.textContent = clock(since(this.kpis.oldest_wait_ms, now) || 0);
    const stamp = floorTime(this.stamp, this.data && this.data.clock);
    this.footer.textContent = tn(
      "{shown} of {n} call shown ({live} live) · updated {time}",
      "{shown} of {n} calls shown ({live} live) · updated {time}",
      this.matched, {shown: this.order.length, live: this.live, time: stamp});
  }

  choose(tr) {
    this.focusRow(tr);
    this.select(tr.dataset.sid);
    this.setTrigger("select", tr.dataset.sid);
  }

  focusRow(tr) {
    for (const other of this.body.querySelectorAll('tr[tabindex="0"]')) other.tabIndex = -1;
    tr.tabIndex = 0;
    tr.focus();
  }

  // Exactly one row is a Tab stop: the one focused or chosen, else the first.
  rove() {
    const focused = this.root.getRootNode().activeElement;
    const active = focused && this.body.contains(focused) ? focused : null;
    const chosen = this.selected && this.rows.get(this.selected);
    const stop = active || (chosen && chosen.tr) || this.body.firstElementChild;
    for (const tr of this.body.rows) tr.tabIndex = tr === stop ? 0 : -1;
  }

  select(sid) {
    const before = this.selected;
    this.selected = sid;
    for (const s of [before, sid]) {
      const entry = s && this.rows.get(s);
      if (entry) {
        entry.tr.classList.toggle("ep-selected", s === sid);
        this.fill(entry, Date.now() + this.offset);
      }
    }
    if (this.body) this.rove();
  }

  // Ask Streamlit to redraw what it shows, once per distinct reason.
  check() {
    if (!this.data || !this.kpis) return;
    const help = (this.help || []).map((h) => `${h.sid}@${h.since}`).sort().join(",");
    if (help !== this.data.help_key) this.ask("help:" + help, {reason: "help"});
    else this.settle("help:");
    if (this.me !== undefined) {
      const me = this.me ? `${this.me.sid}|${this.me.mode}|${this.me.status}` : "";
      if (me !== this.data.me_key) this.ask("me:" + me, {reason: "me"});
      else this.settle("me:");
    }
    const chosen = this.data.selected;
    if (chosen) {
      const entry = this.rows.get(chosen.sid);
      const key = entry ? controlKey(entry.row) : "gone";
      if (key !== chosen.key) this.ask(`chosen:${chosen.sid}:${key}`, {reason: "chosen"});
      else this.settle(`chosen:${chosen.sid}:`);
    }
  }

  // The page agrees again: what was asked for that reason is done, and the same state
  // later (joining the same call a second time) is asked for afresh.
  settle(prefix) {
    for (const once of this.triggered.keys()) {
      if (once.startsWith(prefix)) this.triggered.delete(once);
    }
  }

  // Once per reason, and again (at most REASKS times, REASK_MS apart) while the page still
  // disagrees: a redraw that read a floor older than the stream's (its wait for `at` timed
  // out on a loaded machine) or that Streamlit dropped left "your phone is ringing" up for
  // good. Bounded, because a page may disagree for ever on purpose (a chosen call's key
  // counts only phone legs on the page, browser listeners too in the stream).
  ask(once, value) {
    const now = Date.now();
    const asked = this.triggered.get(once);
    if (asked && (asked.times > REASKS || now - asked.at < REASK_MS)) return;
    if (this.triggered.size >= 500) this.triggered.clear();
    this.triggered.set(once, {at: now, times: asked ? asked.times + 1 : 1});
    // `at`: Streamlit's redraw must read a floor no older than this message.
    this.setTrigger("refresh", {...value, at: this.stamp ? this.stamp.getTime() : 0});
  }

  close() {
    clearInterval(this.ticker);
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.root.remove();
  }
}

// The call page's mode: no table, only "this call changed, redraw" (and a note while
// the stream reconnects).
class CallWatch {
  constructor(parent) {
    this.status = el("div", "ep-status", "");
    this.status.hidden = true;
    parent.append(this.status);
  }

  configure(data, setTrigger) {
    const source = follow(this, data, setTrigger);
    if (!source) return;
    this.version = undefined;
    source.addEventListener("status", (e) => {
      const status = JSON.parse(e.data);
      this.show(status.ok ? null
        : t("{reason}. This page catches up when it answers.", {reason: statusReason(status.message)}));
    });
    source.addEventListener("call", (e) => {
      this.failures = 0;
      const {v} = JSON.parse(e.data);
      if (this.version !== undefined && v !== this.version) {
        this.setTrigger("refresh", {reason: "call", v});
      }
      this.version = v;
    });
    source.onerror = () => {
      if (source !== this.source) return;
      this.show(t("Reconnecting to the live floor…"));
      if (source.readyState === EventSource.CLOSED) {
        retryWithNewTicket(this, source, () =>
          this.setTrigger("refresh", {reason: "ticket", ticket: this.data.ticket}));
      }
    };
  }

  show(text) {
    this.status.textContent = text || "";
    this.status.hidden = !text;
  }

  close() {
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.status.remove();
  }
}

// The Queues page and the wallboard: a tile per TaskQueue (waiting, longest wait, service
// level, answered, abandoned, average answer, agents available / busy / other), coloured
// by the thresholds the page passes; on the Queues page also every agent, with Listen.
// What each queue alert means, written on its tile (live/queues.py raises them).
const ALERT_WHY = {
  "long-wait": "a caller has waited too long",
  "service-level": "service level below target",
  "routing-stuck": "callers wait while agents are free",
};
const QUEUE_FIGURES = [
  ["longest", "Longest wait"], ["service_level", "Service level"], ["answered", "Answered"],
  ["abandoned", "Abandoned"], ["asa", "Avg answer"], ["staff", "Agents free / busy / other"],
];

class QueueBoard {
  constructor(parent, wall) {
    this.root = el("div", wall ? "ep-queues ep-wall" : "ep-queues");
    this.status = el("div", "ep-status", t("Connecting to the live floor…"));
    this.tiles = el("div", "ep-qtiles");
    this.footer = el("div", "ep-footer", "");
    this.wall = wall;
    if (wall) {
      // A TV (issue 27): the floor's totals and a clock above the tiles.
      this.totals = el("div", "ep-wtotals");
      this.clockNode = el("div", "ep-wclock");
      const top = el("div", "ep-wtop");
      top.append(this.totals, this.clockNode);
      this.root.append(top);
    }
    this.root.append(this.status, this.tiles, this.footer);
    if (!wall) {
      const wrap = el("div", "ep-wrap");
      const table = el("table", "ep-table ep-agents");
      const head = table.createTHead().insertRow();
      for (const label of ["Agent", "Team", "Doing", "For", "Call"]) head.append(el("th", null, t(label)));
      this.agentRows = table.createTBody();
      wrap.append(table);
      this.root.append(el("h3", "ep-heading", t("Agents")), wrap);
    }
    parent.append(this.root);
    this.offset = 0;
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  configure(data, setTrigger) {
    // The wallboard's options (dashboard/views/wallboard.py): its chosen queues, dark theme,
    // the service-level target and the floor's time zone.
    this.root.classList.toggle("ep-dark", Boolean(data.dark));
    this.only = Array.isArray(data.queues) && data.queues.length ? new Set(data.queues) : null;
    this.target = typeof data.target === "number" ? data.target : null;
    this.zone = data.timezone || "UTC";
    const source = follow(this, data, setTrigger);
    if (!source) return;
    source.addEventListener("status", (e) => {
      const status = JSON.parse(e.data);
      this.failures = 0;
      this.status.textContent = status.ok ? ""
        : t("{reason}. The queues show again as soon as it answers.", {reason: statusReason(status.message)});
      this.status.hidden = status.ok && this.message !== undefined;
      this.stale = !status.ok;  // waits stop ticking while the floor is out of reach
      this.root.classList.toggle("ep-stale", this.stale);
    });
    source.addEventListener("queues", (e) => this.render(JSON.parse(e.data)));
    source.onerror = () => {
      if (source !== this.source) return;
      this.status.hidden = false;
      this.status.textContent = t("Cannot reach the live floor at {host}; trying again…",
        {host: new URL(this.url).host});
      if (source.readyState === EventSource.CLOSED) {
        retryWithNewTicket(this, source, () =>
          this.setTrigger("refresh", {reason: "ticket", ticket: this.data.ticket}));
      }
    };
  }

  render(message) {
    this.message = message;
    this.offset = message.at - Date.now();
    this.status.hidden = true;
    this.tiles.replaceChildren();
    const queues = this.only ? message.queues.filter((q) => this.only.has(q.name)) : message.queues;
    if (!queues.length) {
      this.tiles.append(el("div", "ep-empty", t("No TaskQueue has had a caller yet.")));
    }
    if (this.totals) this.renderTotals(queues);
    for (const q of queues) {
      const tile = el("div", "ep-qtile");
      tile.dataset.queue = q.name;
      const today = q.today;
      const sl = today.service_level;
      // The service's alerts (live/queues.py holds the thresholds): red, or amber when
      // callers wait while agents sit available.
      const bad = q.alerts.includes("long-wait") || q.alerts.includes("service-level");
      tile.classList.toggle("ep-bad", bad);
      tile.classList.toggle("ep-warn", !bad && q.alerts.includes("routing-stuck"));
      tile.title = q.alerts.map((a) => t(a)).join(", ");
      tile.append(el("div", "ep-qname", q.name));
      // Why the tile is red or amber, written on it (a TV has no tooltip).
      const why = q.alerts.map((a) => (ALERT_WHY[a] ? t(ALERT_WHY[a]) : a)).join(" · ");
      if (why) {
        const reason = el("div", "ep-qwhy", why);
        reason.dataset.figure = "why";
        tile.append(reason);
      }
      const waiting = el("div", "ep-qbig", String(q.waiting));
      waiting.dataset.figure = "waiting";
      tile.append(waiting, el("div", "ep-label",
        tn("caller waiting", "callers waiting", q.waiting, {})));
      const figures = {
        longest: clock(q.longest_wait_seconds),
        service_level: sl === null ? "—" : `${Math.round(sl * 100)}%`,
        answered: String(today.answered), abandoned: String(today.abandoned),
        asa: today.average_answer_seconds === null ? "—" : clock(today.average_answer_seconds),
        staff: `${q.agents.available} / ${q.agents.busy} / ${q.agents.other}`,
      };
      const grid = el("div", "ep-qgrid");
      for (const [name, label] of QUEUE_FIGURES) {
        const cell = el("div", "ep-qcell");
        const value = el("div", "ep-qvalue", figures[name]);
        value.dataset.figure = name;
        if (name === "longest") value.dataset.since = String(message.at - q.longest_wait_seconds * 1000);
        if (name === "longest" && !q.waiting) delete value.dataset.since;
        cell.append(el("div", "ep-label", t(label)), value);
        if (name === "service_level" && this.target !== null) {
          const goal = el("div", "ep-qtarget",
            t("target {percent}%", {percent: Math.round(this.target * 100)}));
          goal.dataset.figure = "target";
          cell.append(goal);
        }
        grid.append(cell);
      }
      tile.append(grid);
      this.tiles.append(tile);
    }
    if (this.agentRows) this.renderAgents(message.agents);
    this.stamp = new Date(message.at);
    this.tick();
  }

  renderTotals(queues) {
    let waiting = 0, answered = 0, abandoned = 0, inSl = 0, decided = 0;
    for (const q of queues) {
      waiting += q.waiting;
      answered += q.today.answered;
      abandoned += q.today.abandoned;
      const d = q.today.answered + q.today.abandoned;
      if (q.today.service_level !== null) { inSl += q.today.service_level * d; decided += d; }
    }
    const figures = [["waiting", "waiting", String(waiting)], ["answered", "answered today", String(answered)],
      ["abandoned", "abandoned", String(abandoned)],
      ["service_level", "service level", decided ? `${Math.round((inSl / decided) * 100)}%` : "—"]];
    this.totals.replaceChildren();
    for (const [name, label, value] of figures) {
      const cell = el("div", "ep-wtotal");
      const big = el("div", "ep-wbig", value);
      big.dataset.total = name;
      cell.append(big, el("div", "ep-label", t(label)));
      this.totals.append(cell);
    }
  }

  renderAgents(agents) {
    this.agentRows.replaceChildren();
    // Who needs a supervisor first (the service's attention scores), then in the service's
    // order: by reading, else by name's collation (live/names.py).
    const place = new Map(agents.map((a, i) => [a, i]));
    const ordered = [...agents].sort((x, y) => (y.attention - x.attention)
      || place.get(x) - place.get(y));
    for (const a of ordered) {
      const tr = this.agentRows.insertRow();
      tr.dataset.agent = a.agent || a.name;
      const doing = a.phase === "wrapping" ? t("Wrap-up") : a.task_sid ? t("On a call") : a.activity || "—";
      // The roster's name, else the Worker's friendly name, with the ID when they differ.
      const shown = a.agent_name || a.name;
      const who = shown && a.agent && shown !== a.agent ? `${shown} (${a.agent})` : a.agent || a.name;
      // A change waiting for the end of the call (issue 27), with its reason, until it happens.
      const pending = a.pending_change;
      const then = !pending ? ""
        : pending.error ? " " + t("(after-call change failed: {error})", {error: pending.error})
        : " → " + (pending.reason
          ? t("{activity} after this call ({reason})", {activity: pending.activity, reason: pending.reason})
          : t("{activity} after this call", {activity: pending.activity}));
      for (const value of [who, a.team || "", doing + then]) tr.insertCell().textContent = value;
      tr.classList.toggle("ep-help", a.alerts.length > 0);
      const since = tr.insertCell();
      const from = a.task_sid ? a.phase_since : a.since;  // on a call: time on it
      if (from) since.dataset.since = String(Date.parse(from));
      const call = tr.insertCell();
      // Listen only where the page says this supervisor may join (a lead: their teams),
      // as the Floor offers it (issue 28); the service refuses the rest anyway.
      const teams = this.data && this.data.teams;
      if (a.conference_sid && (teams == null || teams.includes(a.team))) {
        const listen = el("button", "ep-listen", t("Listen"));
        listen.addEventListener("click", () => this.setTrigger("listen", a.conference_sid));
        call.append(listen);
      }
    }
  }

  tick() {
    if (this.stale) return;
    const now = Date.now() + this.offset;
    for (const node of this.root.querySelectorAll("[data-since]")) {
      node.textContent = clock((now - Number(node.dataset.since)) / 1000);
    }
    if (this.stamp) {
      this.footer.textContent = t("updated {time}", {time: floorTime(this.stamp, this.data && this.data.clock)});
    }
    if (this.clockNode) {
      this.clockNode.textContent = new Date(now).toLocaleTimeString("ja-JP",
        {timeZone: this.zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});
    }
  }

  close() {
    clearInterval(this.ticker);
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.root.remove();
  }
}

// The Agents page's cards (issue 27): every agent the page's filters keep, from the same
// `queues` stream as the Queues page (worked out once by the service for every watcher), so
// a change redraws the cards in each browser without a Streamlit rerun per watcher. Longest
// in their state first; every value set as text (names and reasons are typed by people).
function agentState(a) {
  if (a.phase === "assigned") return ["on a call", a.phase_since];
  if (a.phase === "wrapping") return ["wrap-up", a.phase_since];
  return [a.available ? "available" : (a.activity || "—"), a.since];
}
const CARD_CLASS = {"on a call": "busy", "wrap-up": "wrap", "available": "free"};
const CARD_STATES = Object.keys(CARD_CLASS);  // codes the page filters by; shown in words

class AgentCards {
  constructor(parent) {
    this.root = el("div", "ep-agents-cards");
    this.status = el("div", "ep-status", t("Connecting to the live floor…"));
    this.caption = el("div", "ep-footer", "");
    this.grid = el("div", "ep-cards");
    this.root.append(this.status, this.caption, this.grid);
    parent.append(this.root);
    this.offset = 0;
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  configure(data, setTrigger) {
    this.teams = Array.isArray(data.teams) ? new Set(data.teams) : null;  // a lead's own
    this.team = data.team || "All";
    this.state = data.state || "All";
    const source = follow(this, data, setTrigger);
    if (this.message) this.render(this.message);  // a filter changed: same stream
    if (!source) return;
    source.addEventListener("status", (e) => {
      const status = JSON.parse(e.data);
      this.status.textContent = status.ok ? "" : `${statusReason(status.message)}.`;
      this.status.hidden = status.ok && this.message !== undefined;
      this.stale = !status.ok;
    });
    source.addEventListener("queues", (e) => this.render(JSON.parse(e.data)));
    source.onerror = () => {
      if (source !== this.source) return;
      this.status.hidden = false;
      this.status.textContent = t("Cannot reach the live floor; trying again…");
      if (source.readyState === EventSource.CLOSED) {
        retryWithNewTicket(this, source, () =>
          this.setTrigger("refresh", {reason: "ticket", ticket: this.data.ticket}));
      }
    };
  }

  render(message) {
    this.message = message;
    this.offset = message.at - Date.now();
    this.status.hidden = true;
    const now = message.at;
    const mine = message.agents.filter((a) => !this.teams || this.teams.has(a.team));
    const shown = [];
    for (const a of mine) {
      const [state, from] = agentState(a);
      if (this.team !== "All" && a.team !== this.team) continue;
      if (this.state !== "All" && state !== this.state) continue;
      shown.push([a, state, from ? Date.parse(from) : null]);
    }
    // A card names the agent as the floor does: the roster's name first (agent_cards.py).
    const named = (a) => a.agent_name || a.name || a.agent || a.worker_sid;
    shown.sort((x, y) => ((x[2] ?? now) - (y[2] ?? now))
      || String(named(x[0])).localeCompare(String(named(y[0]))));
    this.caption.textContent = tn(
      "{shown} of {n} agent · longest in their state first",
      "{shown} of {n} agents · longest in their state first", mine.length, {shown: shown.length});
    const cards = [];
    for (const [a, state, since] of shown) {
      const card = el("div", `ep-card ${CARD_CLASS[state] || "away"}${a.alerts.length ? " alert" : ""}`);
      card.dataset.agent = a.agent || a.worker_sid;
      const clockNode = el("span", "t", "");
      if (since !== null) clockNode.dataset.since = String(since);
      card.append(el("span", "n", named(a)), clockNode, el("br"),
        document.createTextNode(`${CARD_STATES.includes(state) ? t(state) : state} · ${a.team || t("no team")}`));
      if (a.conference_sid) {
        card.append(el("br"), document.createTextNode(t("call {sid}", {sid: a.conference_sid.slice(-8)})));
      }
      if (a.alerts.length) card.append(el("br"), el("span", "a", a.alerts.map((code) => t(code)).join(", ")));
      const p = a.pending_change;
      if (p) {
        const text = p.error ? t("after-call change failed: {error}", {error: p.error})
          : p.reason ? t("after this call: {activity} (by {by}) — {reason}", {activity: p.activity, by: p.by, reason: p.reason})
          : t("after this call: {activity} (by {by})", {activity: p.activity, by: p.by});
        card.append(el("br"), el("span", "p", text));
      }
      cards.push(card);
    }
    this.grid.replaceChildren(...cards);
    this.tick();
  }

  tick() {
    if (this.stale) return;
    const now = Date.now() + this.offset;
    for (const node of this.grid.querySelectorAll("[data-since]")) {
      node.textContent = clock((now - Number(node.dataset.since)) / 1000);
    }
  }

  close() {
    clearInterval(this.ticker);
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    this.root.remove();
  }
}

// Streamlit draws a toast as role="alertdialog" with no accessible name (axe-core:
// aria-dialog-name, serious; issue 28). Each toast gets its own text as its name, once
// per page, wherever it appears: the floor's toasts are the board's cues.
function nameToasts() {
  if (document.__earpieceToasts) return;
  const name = () => {
    for (const toast of document.querySelectorAll('.stToast:not([aria-label])')) {
      toast.setAttribute("aria-label", (toast.textContent || t("Notice")).trim().slice(0, 200));
    }
  };
  document.__earpieceToasts = new MutationObserver(name);
  document.__earpieceToasts.observe(document.body, {childList: true, subtree: true});
  name();
}

const MODES = {
  agents: (parent) => new AgentCards(parent),
  call: (parent) => new CallWatch(parent),
  queues: (parent) => new QueueBoard(parent, false),
  wallboard: (parent) => new QueueBoard(parent, true),
};

export default function (component) {
  const {data, setTriggerValue, parentElement} = component;
  if (data.words) WORDS = data.words;
  if (data.supervisors) SUPERVISORS = data.supervisors;
  if (data.plurals) PLURALS = data.plurals;
  if (data.reasons) learnReasons(data.reasons);
  nameToasts();
  let board = parentElement.__earpieceBoard;
  if (!board) {
    const make = MODES[data.mode] || ((parent) => new Board(parent));
    board = parentElement.__earpieceBoard = make(parentElement);
  }
  clearTimeout(board.closing);
  board.configure(data, setTriggerValue);
  // Closed only if not mounted again at once (a rerun re-renders; leaving the page unmounts).
  return () => {
    board.closing = setTimeout(() => {
      board.close();
      delete parentElement.__earpieceBoard;
    }, 1000);
  };
}
