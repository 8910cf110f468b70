/* One connection per browser: the tabs of one browser share one Socket.IO connection.
 *
 * `fitnessTabs.open(options)` returns the link notifications.js talks through.
 * With the Web Locks API and BroadcastChannel, the tab that holds the lock
 * `stride-socket:<user>` (the leader) keeps the only socket and relays what it
 * hears to the other tabs over the channel of the same name. The leader also
 * decides where each group of notifications shows: one popup, in the visible
 * tab focused last, or, with no tab visible, one system notification. When a
 * tab that was focused last is between two pages (a form it posted reloads it),
 * its popups wait up to GRACE_MS for it. A tab that closes, hides into the
 * back/forward cache or is frozen gives the lock up; the next tab in the queue
 * takes it at once and connects with `auth.last_id`, so the server replays
 * what nobody relayed. A new follower catches up once over HTTP
 * (`/api/notifications?after=`). Without either API, each tab keeps a socket
 * of its own and shows its own popups, as before.
 *
 * options: `userId`, `auth()` (the connect auth), `lastId()`, and handlers:
 * `notification(n)` (data: returns its group, or null when seen before),
 * `present(members, {popup, system})`, `unread(count)`, `presence(data)`,
 * `status(connected, final)`. The link (also `window.fitnessLink`) says
 * whether the browser shares (`shared`), whether this tab leads (`leader`) and
 * whether live events reach it (`connected`), and holds the leader's `socket`
 * (also `window.fitnessSocket`; null in the other tabs).
 */
(function () {
  "use strict";

  // How long a group waits for the tab that left to come back: a form post, its
  // redirect and the next page on a phone's network (or a busy machine) take
  // seconds; 2 s sent the popup of a slow reload to a system notification.
  var GRACE_MS = 5000;
  var CONFIRM_MS = 1000;
  var PLACED_KEPT = 200;

  function shared() {
    return Boolean(navigator.locks && typeof navigator.locks.request === "function" &&
                   typeof BroadcastChannel === "function");
  }

  // Events a page listens for as `fitness:<name>` on the document, in every tab
  // (static/js/imports.js, feed.js): the leader dispatches and relays them.
  var PAGE_EVENTS = ["import_progress", "feed_item"];

  function pageEvent(name, data) {
    document.dispatchEvent(new CustomEvent("fitness:" + name, { detail: data }));
  }

  function open(options) {
    var on = options.handlers;
    var link = { shared: shared(), leader: false, connected: false, socket: null };
    var socket = null;
    var retry = null;
    var lastCount = null;
    window.fitnessLink = link;

    function connect(place) {
      socket = io({
        auth: function (cb) { cb(options.auth()); },
        // Say goodbye when the tab goes away, so a long-polling tab leaves the
        // online count at once instead of after the ping timeout.
        closeOnBeforeunload: true
      });
      link.socket = socket;
      window.fitnessSocket = socket;
      socket.on("notification", function (n) {
        var group = on.notification(n);
        if (!group) return;
        relay("notification", n);
        if (!n.silent) place(group);
      });
      socket.on("unread_count", function (data) {
        if (!data || typeof data.count !== "number") return;
        lastCount = data.count;
        on.unread(data.count);
        relay("unread_count", data);
      });
      socket.on("presence", function (data) {
        on.presence(data);
        relay("presence", data);
      });
      // An import's progress, a feed's new item: every tab may show them.
      PAGE_EVENTS.forEach(function (name) {
        socket.on(name, function (data) {
          pageEvent(name, data);
          relay(name, data);
        });
      });
      socket.on("connect", function () { status(true, false); });
      socket.on("disconnect", function (reason) {
        // A server-side disconnect (logout elsewhere) is final; anything else retries.
        status(false, reason === "io server disconnect");
      });
      socket.io.on("reconnect_attempt", function () { status(false, false); });
      // While the server's database is away it refuses connections with "unavailable".
      // socket.io never retries a refusal by itself (socket.active is false), so
      // the page does, 2-5 s later, spread out so pages do not all return at once.
      socket.on("connect_error", function (err) {
        status(false, false);
        if (err && err.message === "unavailable" && !socket.active && retry === null) {
          retry = setTimeout(function () {
            retry = null;
            if (socket) socket.connect();
          }, 2000 + Math.random() * 3000);
        }
      });
    }

    function status(connected, final) {
      link.connected = connected;
      on.status(connected, final);
      post({ type: "status", connected: connected, final: final });
    }

    var channel = null;
    function post(message) { if (channel) channel.postMessage(message); }
    function relay(name, payload) { post({ type: "data", name: name, payload: payload }); }

    if (!link.shared) {
      connect(function (group) {
        on.present(group.members, { popup: true, system: document.hidden });
      });
      return link;
    }

    var name = "stride-socket:" + options.userId;
    var me = Math.random().toString(36).slice(2) + Date.now().toString(36);
    var was = null;  // this tab's id on the page before, when it moved between two pages
    try {
      was = sessionStorage.getItem("stride.tab.left");
      sessionStorage.removeItem("stride.tab.left");
    } catch (e) { /* storage off: a reloaded tab counts as a new one */ }
    var tabs = new Map();  // tab id -> {visible, focusedAt, away, unconfirmed}
    var placed = new Map();  // group key -> tab id, "system", or "wait:<tab id>"
    var waiting = new Map();  // group key -> group, held for a tab between two pages
    var focusedAt = !document.hidden && document.hasFocus() ? Date.now() : 0;
    var release = null;
    var queued = null;
    var gone = false;
    channel = new BroadcastChannel(name);

    function state() {
      return { tab: me, visible: !document.hidden, focusedAt: focusedAt };
    }

    /* A tab's word about itself: it is there, whatever was said of it before. */
    function note(s) {
      tabs.set(s.tab, { visible: s.visible, focusedAt: s.focusedAt, away: 0, unconfirmed: false });
    }

    /* Say how this tab is; a "hello" also names the tab it was before a page load. */
    function announce(type) {
      var s = state();
      note(s);
      post({ type: type || "state", tab: s.tab, visible: s.visible, focusedAt: s.focusedAt,
             was: type === "hello" ? was : null });
    }

    /* Where a new group shows: the visible tab focused last, a tab between two
     * pages that was focused later still, or (no tab visible) a system notification. */
    function choose() {
      note(state());  // this tab as it is now, not as it last said
      var now = Date.now();
      var best = null;
      var bestId = null;
      tabs.forEach(function (t, id) {
        if (t.away && now - t.away > GRACE_MS) tabs.delete(id);
        else if (t.visible && (!best || t.focusedAt > best.focusedAt)) {
          best = t;
          bestId = id;
        }
      });
      if (!best) return "system";
      return best.away ? "wait:" + bestId : bestId;
    }

    function deliver(group, target) {
      placed.set(group.key, target);
      if (placed.size > PLACED_KEPT) placed.delete(placed.keys().next().value);
      if (target === "system") {
        on.present(group.members, { system: true });
      } else if (target === me) {
        on.present(group.members, { popup: true });
      } else if (target.indexOf("wait:") === 0) {
        waiting.set(group.key, group);
        setTimeout(function () {
          if (!waiting.delete(group.key)) return;
          placed.delete(group.key);
          place(group);
        }, GRACE_MS + 50);
      } else {
        post({ type: "show", to: target, members: group.members });
      }
    }

    function place(group) {
      var target = placed.get(group.key);
      var alive = target === "system" || (target && target.indexOf("wait:") === 0) ||
        (target && tabs.has(target) && !tabs.get(target).away);
      deliver(group, alive ? target : choose());
    }

    function hello(m) {
      note(m);
      if (!link.leader) return;
      post({ type: "status", connected: link.connected, final: false });
      if (lastCount !== null) relay("unread_count", { count: lastCount });
      if (!m.was) return;
      waiting.forEach(function (group, key) {
        if (placed.get(key) !== "wait:" + m.was) return;
        waiting.delete(key);
        deliver(group, m.tab);
      });
    }

    channel.onmessage = function (event) {
      var m = event.data || {};
      if (m.type === "state") note(m);
      else if (m.type === "hello") hello(m);
      else if (m.type === "away" && tabs.has(m.tab)) tabs.get(m.tab).away = Date.now();
      else if (m.type === "who") announce();
      else if (link.leader) return;
      else if (m.type === "status") {
        link.connected = Boolean(m.connected);
        on.status(link.connected, Boolean(m.final));
      } else if (m.type === "show" && m.to === me) on.present(m.members || [], { popup: true });
      else if (m.type === "data" && m.name === "notification") on.notification(m.payload);
      else if (m.type === "data" && m.name === "unread_count") on.unread(m.payload.count);
      else if (m.type === "data" && m.name === "presence") on.presence(m.payload);
      else if (m.type === "data" && PAGE_EVENTS.indexOf(m.name) !== -1) pageEvent(m.name, m.payload);
    };

    function lead() {
      link.leader = true;
      // Tabs that went away without a word (a crash) drop out unless they answer.
      tabs.forEach(function (t, id) { if (id !== me) t.unconfirmed = true; });
      setTimeout(function () {
        tabs.forEach(function (t, id) { if (t.unconfirmed) tabs.delete(id); });
      }, CONFIRM_MS);
      post({ type: "who" });
      connect(place);
      return new Promise(function (resolve) { release = resolve; });
    }

    function resign() {
      if (!link.leader) return;
      link.leader = false;
      // Quietly: the followers stay "connected" while the next leader takes over.
      socket.off();
      socket.io.off();
      socket.disconnect();
      socket = null;
      link.socket = null;
      window.fitnessSocket = null;
      release();
    }

    /* Follow: catch up once over HTTP, then wait in the lock's queue to lead. */
    function follow() {
      fetch("/api/notifications?after=" + options.lastId(), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return;
          body.notifications.forEach(function (n) { on.notification(n); });
          if (typeof body.unread === "number" && !link.leader) on.unread(body.unread);
        }, function () { /* offline: the leader's relays and replays still come */ });
      queued = new AbortController();
      navigator.locks.request(name, { signal: queued.signal }, lead)
        .catch(function () { /* given up on pagehide or freeze */ });
    }

    function elect() {
      gone = false;
      announce("hello");
      navigator.locks.request(name, { ifAvailable: true }, function (lock) {
        if (gone) return null;
        if (lock) return lead();
        follow();
        return null;
      });
    }

    /* Leaving (closed, into the back/forward cache, or frozen): give the lock up so
     * another tab connects, and say so, so popups wait a moment for a reload. */
    function leave() {
      if (gone) return;
      gone = true;
      if (queued) queued.abort();
      queued = null;
      resign();
      post({ type: "away", tab: me });
      try { sessionStorage.setItem("stride.tab.left", me); } catch (e) { /* storage off */ }
    }

    /* A navigation begins (a form post, a link): the page may be gone before a popup
     * the leader sends it is shown, and the post's own notification can come back
     * before `pagehide`. So say "away" now, before the request leaves; the next page's
     * hello names this tab and gets what waited for it. A navigation that ends
     * without leaving (a download, a 204) says so once the grace is over. */
    function leaving() {
      if (gone) return;
      post({ type: "away", tab: me });
      setTimeout(function () { if (!gone) announce(); }, GRACE_MS);
    }

    function changed() {
      if (gone) return;
      if (!document.hidden && document.hasFocus()) focusedAt = Date.now();
      announce();
    }

    document.addEventListener("visibilitychange", changed);
    window.addEventListener("focus", changed);
    window.addEventListener("blur", changed);
    window.addEventListener("beforeunload", leaving);
    window.addEventListener("pagehide", leave);
    document.addEventListener("freeze", leave);
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      was = me;
      elect();
    });
    document.addEventListener("resume", function () {
      was = me;
      elect();
    });
    // A device id stored by another tab (push.js) reaches the server on a reconnect.
    window.addEventListener("storage", function (event) {
      if (event.key === "stride.device" && socket) {
        socket.disconnect();
        socket.connect();
      }
    });
    elect();
    return link;
  }

  window.fitnessTabs = { open: open };
})();
