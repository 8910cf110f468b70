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

  function remember(id) {
    if (id > lastId) lastId = id;
    try { sessionStorage.setItem(storageKey, String(lastId)); } catch (e) { /* storage off */ }
  }
  remember(lastId);

  function setUnread(count) {
    if (badge) badge.textContent = String(count);
    document.querySelectorAll(".unread-total").forEach(function (el) {
      el.textContent = String(count);
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

  function showToast(n, ms) {
    var toast = document.createElement("div");
    toast.className = "toast toast-" + String(n.kind || "info").replace(/[^a-z_]/g, "");
    toast.dataset.notificationId = String(n.id);
    toast.setAttribute("role", "status");
    toast.tabIndex = 0;

    var title = document.createElement("strong");
    title.className = "toast-title";
    title.textContent = n.title || "";
    var message = document.createElement("p");
    message.className = "toast-message";
    message.textContent = n.message || "";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "toast-close";
    button.setAttribute("aria-label", "Close notification");
    button.textContent = "×";
    button.addEventListener("click", function () { close(toast); });

    toast.append(title, message, button);
    toast._notification = n;
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

  function show(n, ms) {
    if (!n || typeof n.id !== "number" || shown.has(n.id)) return;
    shown.add(n.id);
    remember(n.id);
    document.dispatchEvent(new CustomEvent("fitness:notification", { detail: n }));
    // Silent (muted, or quiet hours): stored and counted, but no popup.
    if (n.silent) return;
    showToast(n, ms);
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

  socket.on("notification", function (n) { show(n); });

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
  socket.on("connect_error", function () { if (status) status.hidden = false; });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var toasts = container.querySelectorAll(".toast");
    if (!toasts.length) return;
    var focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest(".toast") : null;
    close(focused || toasts[toasts.length - 1]);
  });

  window.fitnessSocket = socket;
})();
