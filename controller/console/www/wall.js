// evalroom web console: the status wall. The controller pushes the whole wall over a
// WebSocket each time something on it changes; this script only draws what it is sent
// (no polling). Every text from the server goes in through textContent, never as HTML.
"use strict";

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

function timeOf(us) {
  if (!us) return "";
  return new Date(us / 1000).toISOString().replace("T", " ").slice(0, 19) + "Z";
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
  h.appendChild(el("span", "kind", room.kind || ""));
  card.appendChild(h);
  const door = row("door", room.door, "door door-" + room.door);
  door.querySelector(".door").dataset.door = room.door;
  card.appendChild(door);
  if (room.lockdown) card.appendChild(row("lockdown", "LOCKDOWN", "door-lockdown"));
  card.appendChild(row("agent", room.agent, "agent"));
  const c = room.seat_counts || {};
  card.appendChild(row("seats", (c.logged_in || 0) + " in, " + (c.expected || 0) +
    " expected, " + (c.free || 0) + " free, " + (c.offline || 0) + " off"));
  card.appendChild(row("tenders present", String(room.tenders_present)));
  card.appendChild(row("open alerts", String(room.open_alerts), "open-alerts"));

  const seats = el("div", "chips seats");
  for (const s of room.seats || []) {
    const isLocked = locked.has(room.room + "/" + s.seat);
    const chip = el("span", "chip seat " + (isLocked ? "locked" : s.state),
      s.seat + " " + (isLocked ? "locked" : s.state.replace("_", " ")));
    chip.dataset.seat = s.seat;
    chip.dataset.state = isLocked ? "locked" : s.state;
    seats.appendChild(chip);
  }
  card.appendChild(seats);
  const streams = el("div", "chips streams");
  for (const s of room.streams || []) {
    const chip = el("span", "chip stream " + s.state, s.stream + " " + s.state);
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
      out.textContent = (body.error && body.error.message) || ("refused: HTTP " + r.status);
    }
  } catch (e) {
    out.textContent = "not sent: " + e.message;
  }
}

function ackCell(a) {
  const td = el("td", "act");
  if (!wall.mayAck || a.acked_by) {
    if (a.acked_by) td.textContent = "ack " + a.acked_by + ": " + (a.ack_note || "");
    return td;
  }
  const form = el("form", "ack");
  const note = el("input");
  note.name = "note";
  note.placeholder = "note: what was done or seen";
  note.required = true;
  note.maxLength = 500;
  const btn = el("button", null, "Acknowledge");
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
    const where = [a.room && "room " + a.room, a.seat && "seat " + a.seat,
      a.stream && "stream " + a.stream].filter(Boolean).join(", ");
    const cells = tr.children;
    cells[0].textContent = a.id;
    cells[1].textContent = a.state;
    cells[1].className = "state";
    cells[2].textContent = a.kind;
    cells[3].textContent = where;
    cells[4].textContent = timeOf(a.last_at) + (a.count > 1 ? " x" + a.count : "");
    cells[5].textContent = a.detail;
  }
  for (const [id, tr] of wall.rows)
    if (!seen.has(id)) { tr.remove(); wall.rows.delete(id); }
  // Newest first, as evalroomctl lists them.
  const ordered = [...wall.rows.values()].sort((x, y) => y.dataset.alert - x.dataset.alert);
  for (const tr of ordered) body.appendChild(tr);
  document.getElementById("alert-counts").textContent = counts ?
    "(" + counts.open + " open, " + counts.acknowledged + " acknowledged)" : "";
}

function draw(w) {
  wall.mayAck = w.may_ack;
  document.getElementById("who").textContent = w.identity + " (" + w.role + ")";
  const locked = lockedSeats(w.alerts || []);
  const rooms = document.getElementById("rooms");
  rooms.replaceChildren(...(w.rooms || []).map((r) => drawRoom(r, locked)));
  drawAlerts(w.alerts || [], w.counts);
  document.body.dataset.updated = String(Date.now());
}

function connect() {
  const ws = new WebSocket("wss://" + location.host + "/api/ws");
  wall.socket = ws;
  ws.onopen = () => { wall.retryMs = 500; setLink(true, "live"); };
  ws.onmessage = (ev) => {
    const w = JSON.parse(ev.data);
    if (w.type === "wall") draw(w);
    if (!w.connected) setLink(false, "controller off the broker");
    else setLink(true, "live");
  };
  ws.onclose = () => {
    setLink(false, "connection lost; reconnecting");
    // A lost connection is re-opened, backing off to 10 s: the wall never polls.
    setTimeout(connect, wall.retryMs);
    wall.retryMs = Math.min(wall.retryMs * 2, 10000);
  };
}

connect();
