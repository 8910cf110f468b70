/* System notifications: with the browser's permission, a notification that is
 * not silent and arrives while the page is hidden also shows as a system
 * notification. Permission is asked only when the settings page's button is
 * clicked (static/js/push.js, which also subscribes to Web Push). Its tag is
 * the notification id, so two tabs of one browser show it once. The popups script hands every notification over as a
 * `fitness:notification` event; this file never opens a socket of its own.
 */
(function () {
  "use strict";

  var supported = typeof window.Notification === "function";

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
