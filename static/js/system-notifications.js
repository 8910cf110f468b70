/* System notifications: with the browser's permission, a notification that is
 * not silent and arrives while the page is hidden also shows as a system
 * notification. Permission is asked only when the settings page's button is
 * clicked. Its tag is the notification id, so two tabs of one browser show it
 * once. The popups script hands every notification over as a
 * `fitness:notification` event; this file never opens a socket of its own.
 */
(function () {
  "use strict";

  var supported = typeof window.Notification === "function";
  var button = document.getElementById("enable-system-notifications");
  var status = document.getElementById("system-notifications-status");

  function describe() {
    if (!status) return;
    if (!supported) {
      status.textContent = "This browser cannot show system notifications.";
    } else if (Notification.permission === "granted") {
      status.textContent = "System notifications are on.";
    } else if (Notification.permission === "denied") {
      status.textContent = "System notifications are blocked in this browser's site settings.";
    } else {
      status.textContent = "System notifications are off.";
    }
  }

  if (button) {
    button.disabled = !supported;
    button.addEventListener("click", function () {
      if (!supported) return;
      Promise.resolve(Notification.requestPermission()).then(describe, describe);
    });
    describe();
  }

  document.addEventListener("fitness:notification", function (event) {
    var n = event.detail;
    if (!supported || !n || n.silent || !document.hidden) return;
    if (Notification.permission !== "granted") return;
    var shown = new Notification(String(n.title || ""), {
      body: String(n.message || ""),
      tag: String(n.id)
    });
    shown.addEventListener("click", function () {
      window.focus();
      if (typeof n.url === "string" && n.url.charAt(0) === "/" && n.url.charAt(1) !== "/") {
        window.location.assign(n.url);
      }
      shown.close();
    });
  });
})();
