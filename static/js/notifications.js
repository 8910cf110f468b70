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
  var shown = new Set();
  var lastId = Math.max(
    Number(container.dataset.lastId) || 0,
    Number(sessionStorage.getItem(storageKey)) || 0
  );
  var badge = document.getElementById("unread-count");
  var status = document.getElementById("connection-status");

  function remember(id) {
    if (id > lastId) {
      lastId = id;
      try { sessionStorage.setItem(storageKey, String(id)); } catch (e) { /* private mode */ }
    }
  }

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
    toast._timer = setTimeout(function () { close(toast); }, ms);
  }

  function showToast(n) {
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
    // Hovering or focusing holds the popup open so it can be read.
    toast.addEventListener("mouseenter", function () { clearTimeout(toast._timer); });
    toast.addEventListener("mouseleave", function () { arm(toast, TOAST_MS); });
    toast.addEventListener("focusin", function () { clearTimeout(toast._timer); });
    toast.addEventListener("focusout", function () { arm(toast, TOAST_MS); });

    container.appendChild(toast);
    while (container.querySelectorAll(".toast").length > MAX_TOASTS) {
      close(container.querySelector(".toast"));
    }
    arm(toast, TOAST_MS);
  }

  var socket = io({
    auth: function (cb) { cb({ last_id: lastId }); }
  });

  socket.on("notification", function (n) {
    if (!n || typeof n.id !== "number" || shown.has(n.id)) return;
    shown.add(n.id);
    remember(n.id);
    showToast(n);
  });

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
