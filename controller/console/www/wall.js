// evalroom web console: the status wall. The controller pushes the whole wall over a
// WebSocket each time something on it changes; this script only draws what it is sent
// (no polling). Every text from the server goes in through textContent, never as HTML.
//
// Language (docs/i18n.md, "The web console"): the page asks /i18n.json for its catalogue:
// the console picks the language from the browser's Accept-Language, or the one chosen in
// the page's language menu (kept in this browser). The catalogue is po/<language>.po's
// translations of this script's _()/C_()/NC_() strings, the pages' data-i18n texts and
// the alert texts, compiled into the controller at build time. Times come from the console
// already in the site's time zone, with the zone written out.
"use strict";

const i18n = { language: "en", languages: ["en"], messages: {} };
// The names of the languages, each in its own language (for the menu).
const LANGUAGE_NAMES = { en: "English", zh_CN: "简体中文" };
const LANG_KEY = "evalroom.console.language";

function _(s) { return i18n.messages[s] || s; }
// C_: S in context CTX (msgctxt), for the words that mean different things in places.
function C_(ctx, s) { return i18n.messages[ctx + "\u0004" + s] || s; }
// fmt: T with each {name} replaced by VARS[name].
function fmt(t, vars) {
  return t.replace(/\{([a-z_]+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}
// alertText: an alert's sentence from its English template (the console sends it with
// its arguments) in the page's language: %s in order, %N$s by number, %% a percent sign;
// null when the template does not fit its arguments.
function alertText(template, args) {
  const t = _(template);
  let next = 0;
  let bad = false;
  const out = t.replace(/%(%|s|([1-9])\$s)/g, (m, what, n) => {
    if (what === "%") return "%";
    const k = n ? Number(n) - 1 : next++;
    if (k >= args.length) { bad = true; return ""; }
    return args[k];
  });
  return bad ? null : out;
}

// The words of the states the controller sends, by what they are the state of.
const STATE_CTX = { door: "door state", agent: "agent state", seat: "seat state",
  stream: "stream state", alert: "alert state", role: "role", room: "room kind" };
// The words the controller sends, marked so that the catalogue holds them (NC_ marks,
// word() translates).
function NC_(ctx, s) { return s; }
const STATE_WORDS = [
  NC_("door state", "locked"), NC_("door state", "unlocked"), NC_("door state", "open"),
  NC_("door state", "held_open"), NC_("door state", "held_open_alarm"),
  NC_("door state", "forced_open"), NC_("door state", "lockdown"),
  NC_("door state", "free_access"), NC_("door state", "fault"), NC_("door state", "tamper"),
  NC_("door state", "unknown"),
  NC_("agent state", "online"), NC_("agent state", "offline"), NC_("agent state", "stopped"),
  NC_("agent state", "unknown"),
  NC_("seat state", "free"), NC_("seat state", "expected"), NC_("seat state", "logged_in"),
  NC_("seat state", "offline"), NC_("seat state", "locked"),
  NC_("stream state", "starting"), NC_("stream state", "recording"),
  NC_("stream state", "lost"), NC_("stream state", "stopped"),
  NC_("alert state", "open"), NC_("alert state", "acknowledged"),
  NC_("alert state", "resolved"),
  NC_("role", "operator"), NC_("role", "desk"), NC_("role", "auditor"), NC_("role", "witness"),
  NC_("room kind", "expert"), NC_("room kind", "tenderer"), NC_("room kind", "witness"),
  NC_("room kind", "supervision"), NC_("room kind", "draw"),
];
function word(what, value) {
  if (value === undefined || value === null) return "";
  return C_(STATE_CTX[what], String(value));
}

// Put the page's own texts (data-i18n) in the catalogue's language.
function translatePage() {
  for (const e of document.querySelectorAll("[data-i18n]")) {
    if (e.dataset.source === undefined) e.dataset.source = e.textContent.trim().replace(/\s+/g, " ");
    e.textContent = e.dataset.i18n ? C_(e.dataset.i18n, e.dataset.source) : _(e.dataset.source);
  }
  document.title = document.querySelector("title").textContent;
  document.documentElement.lang = i18n.language.replace("_", "-");
  document.getElementById("rooms").setAttribute("aria-label", _("rooms"));
}

function languageMenu() {
  const menu = document.getElementById("lang");
  if (!menu) return;
  menu.replaceChildren(...i18n.languages.map((l) => {
    const o = el("option", null, LANGUAGE_NAMES[l] || l);
    o.value = l;
    o.selected = l === i18n.language;
    return o;
  }));
  menu.onchange = () => {
    try { localStorage.setItem(LANG_KEY, menu.value); } catch (e) { /* private mode */ }
    location.reload();
  };
}

async function loadCatalogue() {
  let chosen = null;
  try { chosen = localStorage.getItem(LANG_KEY); } catch (e) { /* private mode */ }
  try {
    const r = await fetch("/i18n.json" + (chosen ? "?lang=" + encodeURIComponent(chosen) : ""));
    if (r.ok) Object.assign(i18n, await r.json());
  } catch (e) {
    // No catalogue: the page stays in English.
  }
  translatePage();
  languageMenu();
}

const wall = {
  socket: null,
  mayAck: false,
  rows: new Map(), // alert id -> <tr>
  retryMs: 500,
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setLink(up, text) {
  const link = document.getElementById("link");
  link.className = "link " + (up ? "up" : "down");
  link.textContent = text;
}

// Seats a failed-login lock holds: open seat_locked alerts, by "room/seat".
function lockedSeats(alerts) {
  const locked = new Set();
  for (const a of alerts)
    if (a.kind === "seat_locked" && a.state !== "resolved") locked.add(a.room + "/" + a.seat);
  return locked;
}

function row(key, value, cls) {
  const r = el("div", "row");
  r.appendChild(el("span", "k", key));
  const v = el("span", cls || "", value);
  r.appendChild(v);
  return r;
}

function drawRoom(room, locked) {
  const card = el("article", "room");
  card.dataset.room = room.room;
  const attention = room.open_alerts > 0 || room.lockdown ||
    ["open", "forced_open", "held_open", "fault", "tamper"].includes(room.door);
  if (room.agent !== "online") card.classList.add("offline");
  if (attention) card.classList.add("attention");

  const h = el("h3", null, room.room);
  h.appendChild(el("span", "kind", word("room", room.kind)));
  card.appendChild(h);
  const door = row(_("door"), word("door", room.door), "door door-" + room.door);
  door.querySelector(".door").dataset.door = room.door;
  card.appendChild(door);
  if (room.lockdown) card.appendChild(row(_("lockdown"), _("LOCKDOWN"), "door-lockdown"));
  const agent = row(_("agent"), word("agent", room.agent), "agent");
  agent.querySelector(".agent").dataset.agent = room.agent;
  card.appendChild(agent);
  const c = room.seat_counts || {};
  card.appendChild(row(_("seats"), fmt(_("{in} in, {expected} expected, {free} free, {off} off"),
    { in: c.logged_in || 0, expected: c.expected || 0, free: c.free || 0, off: c.offline || 0 })));
  card.appendChild(row(_("tenders present"), String(room.tenders_present)));
  card.appendChild(row(_("open alerts"), String(room.open_alerts), "open-alerts"));

  const seats = el("div", "chips seats");
  for (const s of room.seats || []) {
    const isLocked = locked.has(room.room + "/" + s.seat);
    const chip = el("span", "chip seat " + (isLocked ? "locked" : s.state),
      s.seat + " " + word("seat", isLocked ? "locked" : s.state));
    chip.dataset.seat = s.seat;
    chip.dataset.state = isLocked ? "locked" : s.state;
    seats.appendChild(chip);
  }
  card.appendChild(seats);
  const streams = el("div", "chips streams");
  for (const s of room.streams || []) {
    const chip = el("span", "chip stream " + s.state, s.stream + " " + word("stream", s.state));
    chip.dataset.stream = s.stream;
    chip.dataset.state = s.state;
    streams.appendChild(chip);
  }
  card.appendChild(streams);
  return card;
}

async function acknowledge(id, note, out) {
  out.textContent = "";
  try {
    const r = await fetch("/api/alert/ack", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: id, note: note }),
    });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      out.textContent = (body.error && body.error.message) ||
        fmt(_("refused: HTTP {status}"), { status: r.status });
    }
  } catch (e) {
    out.textContent = fmt(_("not sent: {error}"), { error: e.message });
  }
}

function ackCell(a) {
  const td = el("td", "act");
  if (!wall.mayAck || a.acked_by) {
    if (a.acked_by) {
      td.textContent = fmt(_("ack {who}: {note}"), { who: a.acked_by, note: a.ack_note || "" });
    }
    return td;
  }
  const form = el("form", "ack");
  const note = el("input");
  note.name = "note";
  note.placeholder = _("note: what was done or seen");
  note.required = true;
  note.maxLength = 500;
  const btn = el("button", null, _("Acknowledge"));
  btn.type = "submit";
  const out = el("span", "error");
  form.append(note, btn, out);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    acknowledge(a.id, note.value, out);
  });
  td.appendChild(form);
  return td;
}

function drawAlerts(alerts, counts) {
  const body = document.querySelector("#alerts tbody");
  const seen = new Set();
  for (const a of alerts) {
    seen.add(a.id);
    const key = a.state + "|" + (a.acked_by || "");
    let tr = wall.rows.get(a.id);
    if (!tr || tr.dataset.key !== key) {
      const fresh = el("tr", a.state);
      fresh.dataset.alert = a.id;
      fresh.dataset.key = key;
      fresh.dataset.kind = a.kind;
      fresh.dataset.state = a.state;
      for (let i = 0; i < 6; i++) fresh.appendChild(el("td"));
      fresh.appendChild(ackCell(a));
      if (tr) tr.replaceWith(fresh); else body.appendChild(fresh);
      tr = fresh;
      wall.rows.set(a.id, tr);
    }
    const where = [a.room && fmt(_("room {room}"), { room: a.room }),
      a.seat && fmt(_("seat {seat}"), { seat: a.seat }),
      a.venue && fmt(_("venue {venue}"), { venue: a.venue }),
      a.stream && fmt(_("stream {stream}"), { stream: a.stream })]
      .filter(Boolean).join(C_("list separator", ", "));
    const cells = tr.children;
    cells[0].textContent = a.id;
    cells[1].textContent = word("alert", a.state);
    cells[1].className = "state";
    cells[2].textContent = a.kind_text ? _(a.kind_text) : a.kind;
    cells[3].textContent = where;
    cells[4].textContent = (a.last_local || "") +
      (a.count > 1 ? " " + fmt(_("({count} times)"), { count: a.count }) : "");
    const text = a.text && a.text.template ? alertText(a.text.template, a.text.args || []) : null;
    cells[5].textContent = text !== null ? text : a.detail;
  }
  for (const [id, tr] of wall.rows)
    if (!seen.has(id)) { tr.remove(); wall.rows.delete(id); }
  // Newest first, as evalroomctl lists them.
  const ordered = [...wall.rows.values()].sort((x, y) => y.dataset.alert - x.dataset.alert);
  for (const tr of ordered) body.appendChild(tr);
  document.getElementById("alert-counts").textContent = counts ?
    fmt(_("({open} open, {acknowledged} acknowledged)"), counts) : "";
}

function draw(w) {
  wall.mayAck = w.may_ack;
  document.getElementById("who").textContent =
    fmt(_("{identity} ({role})"), { identity: w.identity, role: word("role", w.role) });
  const locked = lockedSeats(w.alerts || []);
  const rooms = document.getElementById("rooms");
  rooms.replaceChildren(...(w.rooms || []).map((r) => drawRoom(r, locked)));
  drawAlerts(w.alerts || [], w.counts);
  document.body.dataset.updated = String(Date.now());
}

function connect() {
  const ws = new WebSocket("wss://" + location.host + "/api/ws");
  wall.socket = ws;
  ws.onopen = () => { wall.retryMs = 500; setLink(true, _("live")); };
  ws.onmessage = (ev) => {
    const w = JSON.parse(ev.data);
    if (w.type === "wall") draw(w);
    if (!w.connected) setLink(false, _("controller off the broker"));
    else setLink(true, _("live"));
  };
  ws.onclose = () => {
    setLink(false, _("connection lost; reconnecting"));
    // A lost connection is re-opened, backing off to 10 s: the wall never polls.
    setTimeout(connect, wall.retryMs);
    wall.retryMs = Math.min(wall.retryMs * 2, 10000);
  };
}

loadCatalogue().then(connect);
