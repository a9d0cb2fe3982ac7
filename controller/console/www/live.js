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
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const r = await fetch("/live/" + encodeURIComponent(s.room) + "/" +
                        encodeURIComponent(s.stream) + "/whep", {
    method: "POST", headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  if (r.status !== 201) {
    let why = String(r.status);
    try { why = (await r.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(why);
  }
  t.location = r.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
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
  const tiles = document.getElementById("tiles");
  const streams = body.streams.filter((s) => s.state === "recording");
  if (streams.length === 0) tiles.appendChild(el("p", "none", TEXT.none));
  for (const s of streams) tiles.appendChild(tile(s));
}

window.addEventListener("pagehide", live.closeAll);
document.addEventListener("DOMContentLoaded", start);
