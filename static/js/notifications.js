/* Real-time notifications: one Socket.IO connection per page, popups, live badge.
 *
 * Connects with plain io() and the default transports (polling first, then the
 * upgrade), so a network that blocks WebSocket keeps working over polling. The
 * auth callback runs on every (re)connect and sends the highest id seen, so
 * the server replays whatever was missed while the connection was down.
 */
(function () {
  "use strict";

  var container = document.getElementById("notification-container");
  if (!container || typeof io !== "function") return;

  var TOAST_MS = 6000;
  var MAX_TOASTS = 5;
  var storageKey = "fitness:last-id:" + container.dataset.userId;
  var carryKey = "fitness:open-toasts:" + container.dataset.userId;
  var shown = new Set();
  // The highest id this tab has shown survives page loads in sessionStorage, so
  // a notification made by the form this page just submitted is replayed here.
  // A new tab starts from the page's newest id instead of replaying the past.
  var stored = sessionStorage.getItem(storageKey);
  var lastId = stored !== null ? Number(stored) || 0 : Number(container.dataset.lastId) || 0;
  var badge = document.getElementById("unread-count");
  var status = document.getElementById("connection-status");
  var returnFocus = null;

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

  function close(toast) {
    if (!toast.isConnected) return;
    clearTimeout(toast._timer);
    toast.remove();
  }

  function arm(toast, ms) {
    clearTimeout(toast._timer);
    toast._expires = Date.now() + ms;
    toast._timer = setTimeout(function () { close(toast); }, ms);
  }

  /* Only local paths are followed: a payload can never send the page elsewhere. */
  function localUrl(n) {
    var url = typeof n.url === "string" ? n.url : "";
    return url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : "/notifications/";
  }

  /* Mark read, then call `done`: over the socket when it is up (its ack), else
   * with the inbox's own form endpoint. `done` runs at most once, and after a
   * second at the latest, so a slow server never holds the click back for long. */
  function markRead(id, done) {
    var finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      if (done) done();
    }
    setTimeout(finish, 1000);
    if (window.fitnessSocket && window.fitnessSocket.connected) {
      window.fitnessSocket.timeout(1000).emit("mark_read", { id: id }, finish);
      return;
    }
    var token = document.querySelector('meta[name="csrf-token"]');
    fetch("/notifications/" + id + "/read", {
      method: "POST", credentials: "same-origin", keepalive: true, redirect: "manual",
      headers: { "X-CSRFToken": token ? token.content : "" }
    }).then(finish, finish);
  }

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

  function timeElement(n) {
    var time = document.createElement("time");
    time.setAttribute("datetime", n.created_at || new Date().toISOString());
    time.setAttribute("data-relative", "");
    if (window.fitnessTime) window.fitnessTime.humanize(time, Date.now());
    return time;
  }

  function showToast(n, ms) {
    var toast = document.createElement("div");
    toast.className = "toast toast-" + String(n.kind || "info").replace(/[^a-z_]/g, "");
    toast.dataset.notificationId = String(n.id);

    // The whole popup is one link to the page it is about; the close button sits beside it.
    var link = document.createElement("a");
    link.className = "toast-link";
    link.href = localUrl(n);
    link.setAttribute("aria-keyshortcuts", "Alt+N");
    var title = document.createElement("strong");
    title.className = "toast-title";
    title.textContent = n.title || "";
    var message = document.createElement("span");
    message.className = "toast-message";
    message.textContent = n.message || "";
    var when = timeElement(n);
    when.className = "toast-time";
    link.append(title, message, when);
    openAndMark(link, n.id);

    var button = document.createElement("button");
    button.type = "button";
    button.className = "toast-close";
    button.setAttribute("aria-label", "Close notification");
    button.textContent = "×";
    button.addEventListener("click", function (event) {
      event.stopPropagation();
      close(toast);
    });

    toast.append(link, button);
    toast._notification = n;
    // A click on the popup's padding counts as a click on its link.
    toast.addEventListener("click", function (event) {
      if (event.target === toast) link.click();
    });
    // Hovering or focusing holds the popup open so it can be read.
    toast.addEventListener("mouseenter", function () { clearTimeout(toast._timer); });
    toast.addEventListener("mouseleave", function () { arm(toast, TOAST_MS); });
    toast.addEventListener("focusin", function () { clearTimeout(toast._timer); });
    toast.addEventListener("focusout", function () { arm(toast, TOAST_MS); });

    container.appendChild(toast);
    while (container.querySelectorAll(".toast").length > MAX_TOASTS) {
      close(container.querySelector(".toast"));
    }
    arm(toast, ms || TOAST_MS);
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
    var meta = document.querySelector('meta[name="csrf-token"]');
    token.value = meta ? meta.content : "";
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
    link.href = localUrl(n);
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
    var when = document.createElement("span");
    when.append(timeElement(n));
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

  function show(n, ms) {
    if (!n || typeof n.id !== "number" || shown.has(n.id)) return;
    shown.add(n.id);
    remember(n.id);
    if (!n.silent) showToast(n, ms);
  }

  /* Every notification from the server: into the inbox if it is open, a popup
   * unless it is silent, and an event for other scripts (system notifications). */
  function receive(n) {
    if (!n || typeof n.id !== "number" || shown.has(n.id)) return;
    addToInbox(n);
    show(n);
    document.dispatchEvent(new CustomEvent("fitness:notification", { detail: n }));
  }

  // A form post reloads the page right as its own notification arrives; popups
  // still open when a page goes away are carried over to the next page.
  try {
    JSON.parse(sessionStorage.getItem(carryKey) || "[]").forEach(function (item) {
      if (item.left > 0) show(item.notification, item.left);
    });
    sessionStorage.removeItem(carryKey);
  } catch (e) { /* storage off or garbled: nothing to carry */ }
  window.addEventListener("pagehide", function () {
    var open = Array.prototype.map.call(container.querySelectorAll(".toast"), function (t) {
      return { notification: t._notification, left: Math.max(t._expires - Date.now(), 1500) };
    });
    try { sessionStorage.setItem(carryKey, JSON.stringify(open)); } catch (e) { /* storage off */ }
  });

  var socket = io({
    auth: function (cb) { cb({ last_id: lastId }); },
    // Say goodbye when the tab goes away, so a long-polling tab leaves the
    // online count at once instead of after the ping timeout.
    closeOnBeforeunload: true
  });

  socket.on("notification", receive);

  socket.on("unread_count", function (data) {
    if (data && typeof data.count === "number") setUnread(data.count);
  });

  socket.on("presence", function (data) {
    var users = document.getElementById("online-users");
    var conns = document.getElementById("online-connections");
    if (users && data) users.textContent = String(data.users);
    if (conns && data) conns.textContent = String(data.connections);
  });

  socket.on("connect", function () { if (status) status.hidden = true; });
  socket.on("disconnect", function (reason) {
    // A server-side disconnect (logout elsewhere) is final; anything else retries.
    if (status) status.hidden = reason === "io server disconnect";
  });
  socket.io.on("reconnect_attempt", function () { if (status) status.hidden = false; });
  // While the server's database is away it refuses connections with "unavailable".
  // socket.io never retries a refusal by itself (socket.active is false), so
  // the page does, a few seconds later, spread out so pages do not return at once.
  var retry = null;
  socket.on("connect_error", function (err) {
    if (status) status.hidden = false;
    if (err && err.message === "unavailable" && !socket.active && retry === null) {
      retry = setTimeout(function () { retry = null; socket.connect(); }, 2000 + Math.random() * 3000);
    }
  });

  // Alt+N moves the focus to the newest popup, so a keyboard can reach it at once.
  document.addEventListener("keydown", function (event) {
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyN") {
      var links = container.querySelectorAll(".toast-link");
      if (links.length) {
        event.preventDefault();
        if (!container.contains(document.activeElement)) returnFocus = document.activeElement;
        links[links.length - 1].focus();
      }
      return;
    }
    if (event.key !== "Escape") return;
    var toasts = container.querySelectorAll(".toast");
    if (!toasts.length) return;
    var focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest(".toast") : null;
    close(focused || toasts[toasts.length - 1]);
    if (focused) (returnFocus && returnFocus.isConnected ? returnFocus : document.getElementById("main")).focus();
  });

  // The popup layer covers exactly the visible part of the screen, so popups stay
  // in view when a phone zooms in or its keyboard takes the lower half.
  var viewport = window.visualViewport;
  function fitViewport() {
    container.style.left = viewport.offsetLeft + "px";
    container.style.top = viewport.offsetTop + "px";
    container.style.width = viewport.width + "px";
    container.style.height = viewport.height + "px";
  }
  if (viewport) {
    viewport.addEventListener("resize", fitViewport);
    viewport.addEventListener("scroll", fitViewport);
    fitViewport();
  }

  window.fitnessSocket = socket;
})();
