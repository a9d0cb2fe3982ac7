// evalroom web console: live tiles. One WebRTC connection per tile, signalled WHEP-style:
// the offer (with this browser's candidates) is POSTed to /live/ROOM/STREAM/whep, the
// answer comes back with the view's Location, and DELETE on it ends the view. The media
// is the camera's H.264 as the room agent records it. Every text from the server goes in
// through textContent, never as HTML.
"use strict";

// Language (docs/i18n.md, "The web console"): the page's texts come from /i18n.json,
// the catalogue of the person's language built from po/ (as the wall's).
const i18n = { messages: {} };
const LANG_KEY = "evalroom.console.language";
function _(s) { return i18n.messages[s] || s; }
function C_(ctx, s) { return i18n.messages[ctx + "\u0004" + s] || s; }

async function loadCatalogue() {
  let chosen = null;
  try { chosen = localStorage.getItem(LANG_KEY); } catch (e) { /* private mode */ }
  try {
    const r = await fetch("/i18n.json" + (chosen ? "?lang=" + encodeURIComponent(chosen) : ""));
    if (r.ok) Object.assign(i18n, await r.json());
  } catch (e) {
    // No catalogue: the page stays in English.
  }
}

// Every text a person reads on this page, in one place, in the reader's language.
let TEXT = {};
function texts() {
  return {
    title: _("evalroom live"),
    wall: _("status wall"),
    note: _("Click a tile for full screen. Opening and closing a view is recorded with your name."),
    footer: _("Seat cameras are shown only once someone is checked in at that seat."),
    none: _("No stream you may watch is being recorded now."),
    connecting: C_("live view", "connecting"),
    live: C_("live view", "live"),
    failed: C_("live view", "failed"),
    closed: C_("live view", "closed"),
    seat: C_("live tile", "seat"),
    room: C_("live tile", "room"),
    calls: _("Calls"),
    noCall: _("No call rings."),
    answer: C_("call", "Answer"),
    hangUp: C_("call", "Hang up"),
    call: C_("call", "Call"),
    ringing: C_("call", "ringing"),
    callConnecting: C_("call", "connecting"),
    up: C_("call", "in call"),
    byHelp: _("help key"),
    callFailed: _("The call failed"),
    recorded: _("Calls are recorded, both ways, into the archive of the expert's tender."),
  };
}

const live = { tiles: new Map() }; // "room/stream" -> {pc, video, location, status}
window.evalroomLive = live;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setStatus(t, cls, text) {
  t.status.className = "status " + cls;
  t.status.textContent = text;
  t.tile.dataset.state = cls;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 2000); // host candidates come at once; go with what is there
  });
}

async function open(t, s) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  t.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  // Sound only where the stream list says the stream has it: an audio section answered
  // for a stream without sound kept some views' video from ever being sent (webrtcbin
  // 1.22; docs/live.md, "Audio").
  if (s.audio) pc.addTransceiver("audio", { direction: "recvonly" });
  const media = new MediaStream();
  pc.ontrack = (e) => {
    // Until the first packets, an audio track is muted: in the element it would hold
    // the picture back, so sound joins once it flows.
    if (e.track.kind === "audio" && e.track.muted)
      e.track.addEventListener("unmute", () => media.addTrack(e.track), { once: true });
    else
      media.addTrack(e.track);
    t.video.srcObject = media;
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected") setStatus(t, "live", TEXT.live);
    else if (pc.connectionState === "failed") setStatus(t, "failed", TEXT.failed);
  };
  const w = await whep(pc, s.room, s.stream);
  t.location = w.location;
  await pc.setRemoteDescription({ type: "answer", sdp: w.answer });
}

// whep: PC's offer (with its candidates) POSTed for STREAM of ROOM; the view's Location
// (DELETE it to end) and the SDP answer, or an Error with the server's reason.
async function whep(pc, room, stream) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const r = await fetch("/live/" + encodeURIComponent(room) + "/" +
                        encodeURIComponent(stream) + "/whep", {
    method: "POST", headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  if (r.status !== 201) {
    let why = String(r.status);
    try { why = (await r.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(why);
  }
  return { location: r.headers.get("Location"), answer: await r.text() };
}

function close(t) {
  if (t.location)
    fetch(t.location, { method: "DELETE", keepalive: true }).catch(() => {});
  t.location = null;
  if (t.pc) t.pc.close();
  setStatus(t, "closed", TEXT.closed);
}

function tile(s) {
  const key = s.room + "/" + s.stream;
  const t = { tile: el("article", "tile"), video: el("video"), status: el("span", "status") };
  t.tile.dataset.room = s.room;
  t.tile.dataset.stream = s.stream;
  t.video.muted = true;
  t.video.autoplay = true;
  t.video.playsInline = true;
  t.tile.appendChild(t.video);
  const cap = el("div", "cap");
  const where = s.seat ? s.room + " " + TEXT.seat + " " + s.seat : s.room + " " + TEXT.room;
  cap.appendChild(el("span", "name", where + ": " + s.stream));
  cap.appendChild(t.status);
  if (s.seat && call.allowed) {
    const b = el("button", "call", TEXT.call);
    b.dataset.seat = s.seat;
    b.addEventListener("click", (e) => { e.stopPropagation(); startCall(s.room, s.seat); });
    cap.appendChild(b);
  }
  t.tile.appendChild(cap);
  // A tile is silent; its full-screen view plays the room's sound.
  t.tile.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else t.tile.requestFullscreen().catch(() => {});
  });
  t.tile.addEventListener("fullscreenchange", () => {
    t.video.muted = document.fullscreenElement !== t.tile;
  });
  live.tiles.set(key, t);
  setStatus(t, "connecting", TEXT.connecting);
  open(t, s).catch((e) => setStatus(t, "failed", TEXT.failed + ": " + e.message));
  return t.tile;
}

// framesDecoded of a tile's video (for the tests and for a person's curiosity).
live.framesDecoded = async (key) => {
  const t = live.tiles.get(key);
  if (!t || !t.pc) return -1;
  let n = 0;
  (await t.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") n = r.framesDecoded || 0;
  });
  return n;
};
// The audio a tile receives: packets and decoded samples (for the tests).
live.audio = async (key) => {
  const t = live.tiles.get(key);
  if (!t || !t.pc) return null;
  const stats = await t.pc.getStats();
  let a = null;
  stats.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      const codec = r.codecId && stats.get(r.codecId);
      a = { packets: r.packetsReceived || 0, samples: r.totalSamplesReceived || 0,
            codec: codec ? codec.mimeType : "" };
    }
  });
  return a;
};
live.closeAll = () => { for (const t of live.tiles.values()) close(t); };

// ---- the recorded call (docs/call.md) ----
// A call is signalled as a live view of the stream "call-SEAT": this browser's
// microphone goes out, the seat's comes back, the agent records both ways.
const call = { pc: null, location: null, id: null, allowed: false };
live.call = call;

async function startCall(room, seat) {
  if (call.pc) return;
  const pc = new RTCPeerConnection({ iceServers: [] });
  call.pc = pc;
  try {
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    call.mic = mic;
    for (const track of mic.getAudioTracks())
      pc.addTransceiver(track, { direction: "sendrecv", streams: [mic] });
    pc.ontrack = (e) => {
      const audio = document.getElementById("call-audio");
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    const w = await whep(pc, room, "call-" + seat);
    call.location = w.location;
    call.id = w.location.split("/").pop(); // the call's id, as /api/calls lists it
    await pc.setRemoteDescription({ type: "answer", sdp: w.answer });
  } catch (e) {
    call.error = e.message;
    endCall(false);
    showCallError(e.message);
  }
  refreshCalls();
}

// endCall: this side ends the call (SAY: tell the server; not when it ended there). The
// connection is closed once the server has the hang-up, so that the agent does not see
// the browser go first (it would record the end as the connection's, not the witness's).
function endCall(say) {
  const pc = call.pc, mic = call.mic;
  const bye = () => {
    if (pc) pc.close();
    if (mic) for (const t of mic.getTracks()) t.stop();
  };
  if (say && call.location)
    fetch(call.location, { method: "DELETE", keepalive: true }).catch(() => {}).finally(bye);
  else
    bye();
  call.location = null;
  call.pc = null;
  call.mic = null;
  call.id = null;
}

function showCallError(message) {
  const note = document.getElementById("note");
  note.textContent = TEXT.callFailed + ": " + message;
  note.className = "note error";
}

// The audio this browser receives and sends in the call (for the tests).
live.callAudio = async () => {
  if (!call.pc) return null;
  const a = { packetsIn: 0, packetsOut: 0, codec: "" };
  const stats = await call.pc.getStats();
  stats.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      a.packetsIn = r.packetsReceived || 0;
      const codec = r.codecId && stats.get(r.codecId);
      if (codec) a.codec = codec.mimeType;
    }
    if (r.type === "outbound-rtp" && r.kind === "audio") a.packetsOut = r.packetsSent || 0;
  });
  return a;
};
live.hangUp = () => { endCall(true); refreshCalls(); };

function callItem(k) {
  const li = el("li");
  li.dataset.room = k.room;
  li.dataset.seat = k.seat;
  li.dataset.state = k.state;
  li.dataset.call = k.call;
  const state = k.state === "ringing" ? TEXT.ringing : k.state === "up" ? TEXT.up : TEXT.callConnecting;
  const by = k.rang_by === "seat" ? TEXT.byHelp : k.rang_by;
  li.appendChild(el("span", "where", k.room + " " + TEXT.seat + " " + k.seat + ": " + state +
                    " (" + by + (k.answered_by ? ", " + k.answered_by : "") + ")"));
  const mine = call.id === k.call;
  if (k.state === "ringing" && !call.pc) {
    const b = el("button", "answer", TEXT.answer);
    b.addEventListener("click", () => startCall(k.room, k.seat));
    li.appendChild(b);
  }
  { // a ringing call too: the witness room declines it (recorded as its hang-up)
    const b = el("button", "hangup", TEXT.hangUp);
    b.addEventListener("click", () => {
      if (mine) endCall(true);
      else fetch("/api/call/hangup", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ room: k.room, seat: k.seat }),
      }).catch(() => {});
      refreshCalls();
    });
    li.appendChild(b);
  }
  return li;
}

// refreshCalls: the calls that ring or are up, asked again every second while the page
// is open; a call of ours that is gone from the list was hung up at the seat.
async function refreshCalls() {
  let body;
  try {
    const r = await fetch("/api/calls");
    if (r.status !== 200) return;
    body = await r.json();
  } catch (e) {
    return;
  }
  const list = document.getElementById("call-list");
  list.replaceChildren();
  if (call.pc && call.id && !body.calls.some((k) => k.call === call.id))
    endCall(false);
  for (const k of body.calls) list.appendChild(callItem(k));
  if (body.calls.length === 0) list.appendChild(el("li", "none", TEXT.noCall));
}

function startCalls(role) {
  call.allowed = role === "witness" || role === "supervisor";
  if (!call.allowed) return;
  document.getElementById("calls").hidden = false;
  document.getElementById("calls-title").textContent = TEXT.calls + " \u2014 " + TEXT.recorded;
  refreshCalls();
  setInterval(refreshCalls, 1000);
}

async function start() {
  await loadCatalogue();
  TEXT = texts();
  if (i18n.language) document.documentElement.lang = i18n.language.replace("_", "-");
  document.title = TEXT.title;
  document.getElementById("title").textContent = TEXT.title;
  document.getElementById("to-wall").textContent = TEXT.wall;
  document.getElementById("note").textContent = TEXT.note;
  document.getElementById("footer").textContent = TEXT.footer;
  const r = await fetch("/api/live");
  const body = await r.json();
  if (r.status !== 200) {
    document.getElementById("note").textContent = body.error.message;
    return;
  }
  document.getElementById("who").textContent = body.identity + " (" + body.role + ")";
  startCalls(body.role);
  const tiles = document.getElementById("tiles");
  const streams = body.streams.filter((s) => s.state === "recording");
  if (streams.length === 0) tiles.appendChild(el("p", "none", TEXT.none));
  for (const s of streams) tiles.appendChild(tile(s));
}

window.addEventListener("pagehide", () => { live.closeAll(); endCall(true); });
document.addEventListener("DOMContentLoaded", start);
