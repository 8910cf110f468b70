/* Real-time notifications: the live badge, the inbox, and what each notification
 * becomes on the page.
 *
 * The connection is static/js/tabs.js's: one Socket.IO connection per browser,
 * shared by its tabs (plain io(), polling first, then the upgrade, so a network
 * that blocks WebSocket keeps working). Its auth callback runs on every
 * (re)connect and sends the highest id seen (and this browser's push device id),
 * so the server replays whatever was missed while the connection was down.
 *
 * Notifications are gathered by `group` (one action: a completion, its goals,
 * record and streak): one popup per group (static/js/toasts.js) in one tab, or
 * one system notification per group (system-notifications.js).
 */
(function () {
  "use strict";

  var container = document.getElementById("notification-container");
  if (!container || typeof io !== "function" || !window.fitnessToasts || !window.fitnessTabs) return;

  var GROUPS_KEPT = 200;
  var storageKey = "fitness:last-id:" + container.dataset.userId;
  var carryKey = "fitness:open-toasts:" + container.dataset.userId;
  var shown = new Set();
  var groups = new Map();  // group key -> {key, members in id order}
  // The highest id this tab has shown survives page loads in sessionStorage, so
  // a notification made by the form this page just submitted is replayed here.
  // A new tab starts from the page's newest id instead of replaying the past.
  var stored = sessionStorage.getItem(storageKey);
  var lastId = stored !== null ? Number(stored) || 0 : Number(container.dataset.lastId) || 0;
  var badge = document.getElementById("unread-count");
  var status = document.getElementById("connection-status");
  var link = null;

  function remember(id) {
    if (id > lastId) lastId = id;
    try { sessionStorage.setItem(storageKey, String(lastId)); } catch (e) { /* storage off */ }
  }
  remember(lastId);

  function setUnread(count) {
    if (badge) badge.textContent = String(count);
    document.querySelectorAll(".unread-total").forEach(function (el) {
      el.textContent = String(count);
      if (el.classList.contains("badge")) el.hidden = count === 0;
    });
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* Mark one id (a number) or a group (an array of ids) read with one request,
   * then call `done`: over the socket when it is up (its ack), else with the
   * form endpoints. `done` runs at most once, and after a second at the latest,
   * so a slow server never holds the click back for long. */
  function markRead(ids, done) {
    var finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      if (done) done();
    }
    setTimeout(finish, 1000);
    var many = Array.isArray(ids);
    var socket = link && link.socket;
    if (socket && socket.connected) {
      socket.timeout(1000).emit("mark_read", many ? { ids: ids } : { id: ids }, finish);
      return;
    }
    var body = null;
    if (many) {
      body = new URLSearchParams();
      ids.forEach(function (id) { body.append("ids", String(id)); });
    }
    fetch(many ? "/notifications/read" : "/notifications/" + ids + "/read", {
      method: "POST", credentials: "same-origin", keepalive: true, redirect: "manual", body: body,
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(finish, finish);
  }

  var toasts = window.fitnessToasts.create(container, { markRead: markRead });

  /* A plain click opens the page once the notification is marked read; a click
   * that opens a new tab or window leaves this page be and just marks it. */
  function openAndMark(link, id) {
    link.addEventListener("click", function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
        markRead(id);
        return;
      }
      event.preventDefault();
      markRead(id, function () { window.location.assign(link.href); });
    });
  }

  /* The same "Mark read" form the server renders on an unread inbox row. */
  function markReadForm(n) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/notifications/" + n.id + "/read";
    form.className = "inline";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrfToken();
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "quiet small";
    button.textContent = "Mark read";
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = ": " + (n.title || "");
    button.append(label);
    form.append(token, button);
    return form;
  }

  /* The inbox's first page shows what arrives while it is open, at the top. */
  function addToInbox(n) {
    var list = document.getElementById("inbox-list");
    if (!list || list.dataset.page !== "1") return;
    if (list.querySelector('[data-notification-id="' + n.id + '"]')) return;
    var item = document.createElement("li");
    item.className = "item inbox-item unread arrived";
    item.dataset.notificationId = String(n.id);
    var link = document.createElement("a");
    link.className = "item-link";
    link.href = window.fitnessToasts.localUrl(n);
    openAndMark(link, n.id);
    var title = document.createElement("p");
    title.className = "item-title";
    title.textContent = n.title || "";
    var message = document.createElement("p");
    message.textContent = n.message || "";
    link.append(title, message);
    var meta = document.createElement("p");
    meta.className = "item-meta";
    var pill = document.createElement("span");
    pill.className = "pill new";
    pill.textContent = "Unread";
    var time = document.createElement("time");
    time.setAttribute("datetime", n.created_at || new Date().toISOString());
    time.setAttribute("data-relative", "");
    if (window.fitnessTime) window.fitnessTime.humanize(time, Date.now());
    var when = document.createElement("span");
    when.append(time);
    meta.append(pill, when);
    var body = document.createElement("div");
    body.append(link, meta);
    item.append(body, markReadForm(n));
    list.prepend(item);
    var empty = document.getElementById("inbox-empty");
    if (empty) empty.hidden = true;
    list.hidden = false;
  }

  document.querySelectorAll("#inbox-list .inbox-item.unread .item-link").forEach(function (link) {
    openAndMark(link, Number(link.closest(".inbox-item").dataset.notificationId));
  });

  function keyOf(n) {
    return typeof n.group === "string" && n.group ? n.group : String(n.id);
  }

  /* The group `n` belongs to, with `n` in it at its place (ids in order). */
  function join(n) {
    var key = keyOf(n);
    var group = groups.get(key);
    if (!group) {
      group = { key: key, members: [] };
      groups.set(key, group);
      if (groups.size > GROUPS_KEPT) groups.delete(groups.keys().next().value);
    }
    group.members.push(n);
    group.members.sort(function (a, b) { return a.id - b.id; });
    return group;
  }

  function fresh(n) {
    if (!n || typeof n.id !== "number" || shown.has(n.id)) return false;
    shown.add(n.id);
    remember(n.id);
    return true;
  }

  /* Every notification from the server, once: into its group and the inbox if it
   * is open, and an event for other scripts (the dashboard). Returns its group,
   * or null for one seen before. Where it shows is static/js/tabs.js's call. */
  function receive(n) {
    if (!fresh(n)) return null;
    var group = join(n);
    addToInbox(n);
    document.dispatchEvent(new CustomEvent("fitness:notification", { detail: n }));
    return group;
  }

  /* Show a group: its popup in this tab, or a system notification (a click marks
   * the group read and opens its first page). Members not yet seen are received. */
  function present(members, where) {
    if (!members.length) return;
    members.forEach(receive);
    var group = groups.get(keyOf(members[0]));
    if (!group) return;
    if (where.popup) toasts.show(group);
    if (where.system && window.fitnessSystemNotifications) {
      window.fitnessSystemNotifications.show(group, function (lead) {
        var url = window.fitnessToasts.localUrl(lead);
        markRead(group.members.map(function (m) { return m.id; }), function () {
          window.location.assign(url);
        });
      });
    }
  }

  // A form post reloads the page right as its own notification arrives; popups
  // still open when a page goes away are carried over to the next page.
  try {
    JSON.parse(sessionStorage.getItem(carryKey) || "[]").forEach(function (carried) {
      var group = null;
      carried.members.forEach(function (n) { if (fresh(n)) group = join(n); });
      if (group && carried.left > 0) toasts.show(group, carried.left);
    });
    sessionStorage.removeItem(carryKey);
  } catch (e) { /* storage off or garbled: nothing to carry */ }
  window.addEventListener("pagehide", function () {
    var open = toasts.open().map(function (o) {
      return { members: o.group.members, left: o.left };
    });
    try { sessionStorage.setItem(carryKey, JSON.stringify(open)); } catch (e) { /* storage off */ }
  });

  /* The device id static/js/push.js keeps for this browser's push subscription:
   * with it, the server pushes nothing to this device while it is connected. */
  function device() {
    try { return localStorage.getItem("stride.device"); } catch (e) { return null; }
  }

  link = window.fitnessTabs.open({
    userId: container.dataset.userId,
    lastId: function () { return lastId; },
    auth: function () {
      var id = device();
      return id ? { last_id: lastId, device: id } : { last_id: lastId };
    },
    handlers: {
      notification: receive,
      present: present,
      unread: setUnread,
      presence: function (data) {
        var users = document.getElementById("online-users");
        var conns = document.getElementById("online-connections");
        if (users && data) users.textContent = String(data.users);
        if (conns && data) conns.textContent = String(data.connections);
      },
      status: function (connected, final) {
        // A server-side disconnect (logout elsewhere) is final; anything else retries.
        if (status) status.hidden = connected || final;
      }
    }
  });
})();
