#!/usr/bin/env node
// The load client for bench/run.py: Node's socket.io-client, driven over stdin.
//
// Why Node: on 2 cores the client competes with the server for CPU, and
// socket.io-client costs about half of python-socketio's AsyncClient per socket
// and per received event (`run.py --compare-clients` measures it). Latency is
// timed in this one process, from the moment a POST is written to the moment
// the `notification` event reaches the socket of the user it was for, so no
// clock crosses a process boundary.
//
// Protocol: one JSON command per stdin line, one JSON reply per stdout line,
// `{"id": <same>, "ok": true, "result": {...}}` or `{"id", "ok": false, "error"}`.
// Every command has a deadline; the process exits when stdin closes or after
// --max-seconds, so a run always ends by itself.

"use strict";

const http = require("node:http");
const readline = require("node:readline");
const { performance } = require("node:perf_hooks");
const { io } = require("socket.io-client");

const MAX_SECONDS = Number(
  (process.argv.find((a) => a.startsWith("--max-seconds=")) || "--max-seconds=1800").split("=")[1],
);
setTimeout(() => {
  process.stderr.write(`client: --max-seconds=${MAX_SECONDS} reached, exiting\n`);
  process.exit(3);
}, MAX_SECONDS * 1000).unref();

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// --- state -----------------------------------------------------------------

/** user id → {cookie} for the app; the bare server needs none. */
const sessions = new Map();
let csrfToken = "";
let adminCookie = "";
/** every socket opened, with the user it belongs to */
const sockets = [];
/** users who have a socket already: the first one opened for a user is its primary */
const usersWithSocket = new Set();
const disconnectReasons = {};
/** tag → {user, start, expected, arrivals, firstMs, resolve} for workout POSTs waiting
 *  for their event at the user's first connection and at all of them */
const pending = new Map();
let wrongClient = 0;
/** broadcast currently being timed */
let announcement = null;
let received = 0;

function ms() {
  return performance.now();
}

function assertLocal(url) {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1") throw new Error(`refusing to send traffic to ${host}`);
}

function request(method, url, { headers = {}, body = null } = {}) {
  assertLocal(url);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.setTimeout(30000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on("error", reject);
    if (body !== null) req.end(body);
    else req.end();
  });
}

function form(fields) {
  return new URLSearchParams(fields).toString();
}

function sessionCookie(res) {
  for (const line of res.headers["set-cookie"] || []) {
    const m = /^session=([^;]*)/.exec(line);
    if (m) return `session=${m[1]}`;
  }
  return null;
}

async function pool(items, concurrency, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

function percentiles(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : null);
  return {
    n: s.length,
    p25: at(25),
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: s.length ? s[s.length - 1] : null,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null,
  };
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// --- commands ----------------------------------------------------------------

/** Log users in through the real form: one GET for the CSRF token, one POST each. */
async function login({ base, users, admin, password, concurrency = 4 }) {
  const t0 = ms();
  const page = await request("GET", `${base}/auth/login`);
  const anon = sessionCookie(page);
  const m = /name="csrf_token" type="hidden" value="([^"]+)"/.exec(page.body);
  if (!anon || !m) throw new Error("no csrf_token or session cookie on /auth/login");
  csrfToken = m[1];
  const failures = [];
  const one = async (email) => {
    const res = await request("POST", `${base}/auth/login`, {
      headers: { Cookie: anon, "Content-Type": "application/x-www-form-urlencoded" },
      body: form({ csrf_token: csrfToken, email, password }),
    });
    const cookie = sessionCookie(res);
    if (res.status !== 302 || !cookie) {
      failures.push(`${email}: ${res.status}`);
      return null;
    }
    return cookie;
  };
  await pool(users, concurrency, async (u) => {
    const cookie = await one(u.email);
    if (cookie) sessions.set(u.id, cookie);
  });
  if (admin) adminCookie = (await one(admin.email)) || "";
  return { loggedIn: sessions.size, admin: Boolean(adminCookie), failures: failures.slice(0, 5), seconds: (ms() - t0) / 1000 };
}

function announcementMaybeDone() {
  if (
    announcement.arrivals.length >= announcement.expected &&
    announcement.badges.length >= announcement.badgesExpected
  )
    announcement.done();
}

function attach(sock, user) {
  sock.on("notification", (payload) => {
    const now = ms();
    if (payload.kind === "announcement") {
      if (announcement && payload.message === announcement.message && !sock.benchSeen) {
        sock.benchSeen = true;
        announcement.arrivals.push(now - announcement.start);
        announcementMaybeDone();
      }
      return;
    }
    if (payload.kind !== "workout_completed") return;
    // The tag leads the message; trees before 110492f (bench --baseline) put
    // "Workout completed: " before it.
    const m = /^(?:Workout completed: )?(\S+),/.exec(payload.message || "");
    if (!m) return;
    received += 1;
    const waiter = pending.get(m[1]);
    if (!waiter) return;
    if (waiter.user !== user) {
      wrongClient += 1;
      return;
    }
    // Latency is timed at the user's first connection; with several per user
    // the time until the last of them has it is kept too.
    waiter.arrivals += 1;
    if (sock.benchPrimary) waiter.firstMs = now - waiter.start;
    if (waiter.arrivals >= waiter.expected) waiter.allMs = now - waiter.start;
    if (waiter.firstMs !== null && waiter.allMs !== null) {
      pending.delete(m[1]);
      waiter.resolve(waiter);
    }
  });
  // bench/social.py: a followed user's completion reaching each follower's socket.
  sock.on("feed_item", (payload) => {
    if (!feedWait || !payload || payload.title !== feedWait.tag || sock.benchFeedSeen === feedWait.tag) return;
    sock.benchFeedSeen = feedWait.tag;
    feedWait.arrivals.push(ms() - feedWait.start);
    if (feedWait.arrivals.length >= feedWait.expected) feedWait.done();
  });
  // The app refreshes every online badge after an announcement, in batches.
  sock.on("unread_count", () => {
    if (announcement && announcement.badgesExpected && sock.benchSeen && !sock.benchBadge) {
      sock.benchBadge = true;
      announcement.badges.push(ms() - announcement.start);
      announcementMaybeDone();
    }
  });
  sock.on("disconnect", (reason) => {
    liveUsers = null;
    socketsOf = null;
    disconnectReasons[reason] = (disconnectReasons[reason] || 0) + 1;
  });
}

/** Open one socket per user, at most `concurrency` handshakes in flight. */
async function connect({ targets, mode, transports = ["websocket"], concurrency = 50, timeoutMs = 20000 }) {
  const t0 = ms();
  const errors = {};
  let ok = 0;
  const jobs = [];
  for (const { url, users } of targets) for (const user of users) jobs.push({ url, user });
  await pool(jobs, concurrency, ({ url, user }) => {
    assertLocal(url);
    const opts = { transports, forceNew: true, reconnection: false, timeout: timeoutMs };
    // engine.io-client's Node polling opens a new TCP connection per request
    // unless given an agent; a browser keeps its connections alive.
    if (transports.includes("polling")) opts.agent = new http.Agent({ keepAlive: true });
    if (mode === "app") {
      opts.extraHeaders = { Cookie: sessions.get(user) || "" };
    } else {
      opts.auth = { user };
    }
    const sock = io(url, opts);
    sock.benchUser = user;
    sock.benchPrimary = !usersWithSocket.has(user);
    usersWithSocket.add(user);
    attach(sock, user);
    return new Promise((resolve) => {
      const done = (error) => {
        sock.off("connect", onOk);
        sock.off("connect_error", onErr);
        if (error) {
          errors[error] = (errors[error] || 0) + 1;
          sock.close();
        } else {
          ok += 1;
          sockets.push(sock);
          liveUsers = null;
          socketsOf = null;
        }
        resolve();
      };
      const onOk = () => done(null);
      const onErr = (err) => done(String(err && err.message));
      sock.once("connect", onOk);
      sock.once("connect_error", onErr);
    });
  });
  return { opened: ok, errors, seconds: (ms() - t0) / 1000, connected: connectedCount() };
}

function connectedCount() {
  return sockets.reduce((n, s) => n + (s.connected ? 1 : 0), 0);
}

let tagSeq = 0;
const runTag = Math.random().toString(36).slice(2, 7);

/** POST one workout completion for `user`; resolve with the event's time at the user's
 *  first connection (null if it never came), at all of them, and the response. */
function postWorkout(mode, base, user, timeoutMs) {
  const tag = `b${runTag}${++tagSeq}`;
  const fields = {
    title: tag,
    activity: "run",
    duration_minutes: "30",
    distance_km: "5",
    performed_on: today(),
    completed: "y",
  };
  let url;
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  if (mode === "app") {
    url = `${base}/workouts/new`;
    headers.Cookie = sessions.get(user);
    fields.csrf_token = csrfToken;
  } else {
    url = `${base}/notify/${user}`;
  }
  const expected = connectedSocketsOf(user);
  // CLOCK_MONOTONIC, the clock of the server's probe: a slow sample can be
  // matched with the lag and collections the server saw at that moment.
  const at = Number(process.hrtime.bigint()) / 1e9;
  const start = ms();
  const event = new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(tag);
      resolve(null);
    }, timeoutMs);
    pending.set(tag, {
      user,
      start,
      expected,
      arrivals: 0,
      firstMs: null,
      allMs: null,
      resolve: (v) => {
        clearTimeout(timer);
        resolve(v);
      },
    });
  });
  const response = request("POST", url, { headers, body: form(fields) }).then(
    (res) => ({ status: res.status, ms: ms() - start }),
    (err) => ({ status: String(err.message), ms: ms() - start }),
  );
  return Promise.all([event, response]).then(([waiter, res]) => ({
    eventMs: waiter && waiter.firstMs,
    allMs: waiter && waiter.allMs,
    at,
    res,
  }));
}

/** users of the connected sockets; rebuilt only after a connect or a disconnect */
let liveUsers = null;

/** user → connected sockets; rebuilt only after a connect or a disconnect */
let socketsOf = null;

function connectedSocketsOf(user) {
  if (socketsOf === null) {
    socketsOf = new Map();
    for (const s of sockets) if (s.connected) socketsOf.set(s.benchUser, (socketsOf.get(s.benchUser) || 0) + 1);
  }
  return socketsOf.get(user) || 0;
}

function pickUser() {
  if (liveUsers === null) liveUsers = sockets.filter((s) => s.connected).map((s) => s.benchUser);
  if (!liveUsers.length) throw new Error("no connected socket to send to");
  return liveUsers[Math.floor(Math.random() * liveUsers.length)];
}

const goodStatus = (mode, status) => (mode === "app" ? status === 302 : status === 204);

/** Sequential POST → event timings, one request in flight at a time; `raw` adds every
 *  sample as [user, ms at the first connection, ms at the last, CLOCK_MONOTONIC seconds at
 *  the POST], so runs can be pooled and slow samples matched with the server's probe. */
async function latency({ mode, bases, samples = 300, timeoutMs = 5000, raw = false }) {
  const event = [];
  const all = [];
  const rows = [];
  const response = [];
  let missed = 0;
  let badStatus = 0;
  const wrongBefore = wrongClient;
  for (let i = 0; i < samples; i++) {
    const base = bases[i % bases.length];
    const user = pickUser();
    const { eventMs, allMs, at, res } = await postWorkout(mode, base, user, timeoutMs);
    if (!goodStatus(mode, res.status)) badStatus += 1;
    if (eventMs === null) missed += 1;
    else {
      event.push(eventMs);
      all.push(allMs);
      if (raw) rows.push([user, eventMs, allMs, at]);
    }
    response.push(res.ms);
  }
  return {
    event: percentiles(event),
    allConnections: percentiles(all),
    samples: raw ? rows : undefined,
    response: percentiles(response),
    missed,
    badStatus,
    wrongClient: wrongClient - wrongBefore,
  };
}

/** Time until the last connected client has the announcement. */
async function broadcast({ mode, base, rounds = 3, timeoutMs = 15000, pauseMs = 1000 }) {
  const results = [];
  for (let r = 0; r < rounds; r++) {
    for (const s of sockets) {
      s.benchSeen = false;
      s.benchBadge = false;
    }
    const expected = connectedCount();
    const badgesExpected = mode === "app" ? expected : 0;
    const message = `bench announcement ${runTag} ${r} ${Date.now()}`;
    const finished = new Promise((resolve) => {
      announcement = { message, expected, badgesExpected, arrivals: [], badges: [], start: 0, done: resolve };
      setTimeout(resolve, timeoutMs);
    });
    let url;
    const headers = { "Content-Type": "application/x-www-form-urlencoded" };
    if (mode === "app") {
      url = `${base}/admin/broadcast`;
      headers.Cookie = adminCookie;
    } else {
      url = `${base}/broadcast`;
    }
    announcement.start = ms();
    const res = await request("POST", url, { headers, body: form({ csrf_token: csrfToken, message }) });
    const responseMs = ms() - announcement.start;
    await finished;
    const a = percentiles(announcement.arrivals);
    const b = percentiles(announcement.badges);
    results.push({
      expected, got: a.n, lastMs: a.max, p50Ms: a.p50, responseMs, status: res.status,
      badges: b.n, lastBadgeMs: b.max,
    });
    announcement = null;
    await new Promise((r2) => setTimeout(r2, pauseMs));
  }
  return { rounds: results };
}

/** `concurrency` POST loops for `seconds`; count the events that came back. */
async function throughput({ mode, bases, seconds = 10, concurrency = 8, timeoutMs = 10000 }) {
  const receivedBefore = received;
  const event = [];
  let posted = 0;
  let ok = 0;
  let missed = 0;
  const t0 = ms();
  const until = t0 + seconds * 1000;
  let i = 0;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (ms() < until) {
        const base = bases[i++ % bases.length];
        const { eventMs, res } = await postWorkout(mode, base, pickUser(), timeoutMs);
        posted += 1;
        if (goodStatus(mode, res.status)) ok += 1;
        if (eventMs === null) missed += 1;
        else event.push(eventMs);
      }
    }),
  );
  const elapsed = (ms() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    posted,
    ok,
    missed,
    events: received - receivedBefore,
    seconds: elapsed,
    perSecond: ok / elapsed,
    eventsPerSecond: (received - receivedBefore) / elapsed,
    event: percentiles(event),
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function stats() {
  const cpu = process.cpuUsage();
  return {
    sockets: sockets.length,
    connected: connectedCount(),
    disconnectReasons,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssBytes: process.memoryUsage().rss,
  };
}

/** feed_item being timed (bench/social.py): tag, start, expected, arrivals, done */
let feedWait = null;

/** `author` POSTs a completed workout; every open socket belongs to one of the author's
 *  followers. Times the POST's response and the `feed_item` at each socket, from the
 *  moment the POST is written. */
async function feed({ base, author, timeoutMs = 60000 }) {
  const tag = `f${runTag}${++tagSeq}`;
  const expected = connectedCount();
  const at = Number(process.hrtime.bigint()) / 1e9;
  const start = ms();
  const arrived = new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    feedWait = { tag, start, expected, arrivals: [], done: () => { clearTimeout(timer); resolve(); } };
  });
  const res = await request("POST", `${base}/workouts/new`, {
    headers: { Cookie: sessions.get(author), "Content-Type": "application/x-www-form-urlencoded" },
    body: form({ csrf_token: csrfToken, title: tag, activity: "run", duration_minutes: "30",
                 distance_km: "5", performed_on: today(), completed: "y", visibility: "followers" }),
  });
  const postMs = ms() - start;
  await arrived;
  const arrivals = feedWait.arrivals;
  feedWait = null;
  return { status: res.status, postMs, expected, received: arrivals.length, at,
           firstMs: arrivals.length ? arrivals[0] : null,
           lastMs: arrivals.length ? arrivals[arrivals.length - 1] : null,
           arrivals: percentiles(arrivals) };
}

async function close({ waitMs = 3000 } = {}) {
  for (const s of sockets) s.close();
  const n = sockets.length;
  sockets.length = 0;
  liveUsers = null;
  socketsOf = null;
  sessions.clear();
  usersWithSocket.clear();
  for (const k of Object.keys(disconnectReasons)) delete disconnectReasons[k];
  await new Promise((r) => setTimeout(r, waitMs));
  return { closed: n };
}

const COMMANDS = { login, connect, latency, broadcast, throughput, stats, feed, close };

// --- stdin loop ----------------------------------------------------------------

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let msg;
    try {
      msg = JSON.parse(line);
      const fn = COMMANDS[msg.cmd];
      if (!fn) throw new Error(`unknown command ${msg.cmd}`);
      const result = await fn(msg.args || {});
      process.stdout.write(JSON.stringify({ id: msg.id, ok: true, result }) + "\n");
    } catch (err) {
      process.stdout.write(JSON.stringify({ id: msg && msg.id, ok: false, error: String(err && err.stack) }) + "\n");
    }
  });
});
rl.on("close", () => process.exit(0));
