/* Stride's service worker (served as /sw.js, scope /): Web Push for closed tabs.
 *
 * On `push` it shows the notification the server sent (the `notification`
 * event's JSON): its title, its message as the body, its id as the tag (so
 * the same notification never shows twice, whoever shows it), the badge icon,
 * and its url in `data`. A click closes it, focuses an open tab of the app
 * (or opens the url), and tells that page to mark it (its whole group) read
 * and go to the url: marking read needs the page's CSRF token, which a worker
 * does not have.
 * No caching, no fetch handler: the app is online-only, and the worker runs
 * under the same strict Content-Security-Policy as the pages.
 */
"use strict";

var ICON = "/static/img/icon-192.png";
var BADGE = "/static/img/badge-96.png";
var INBOX = "/notifications/";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

/* Only a path on this site: never a URL that leads elsewhere. */
function localPath(url) {
  return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" &&
    url.charAt(1) !== "\\" ? url : INBOX;
}

self.addEventListener("push", function (event) {
  var n = {};
  try {
    n = event.data ? event.data.json() : {};
  } catch (error) {
    n = {};
  }
  var id = typeof n.id === "number" ? n.id : null;
  var created = Date.parse(n.created_at);
  event.waitUntil(self.registration.showNotification(
    typeof n.title === "string" && n.title ? n.title : "Stride",
    {
      body: typeof n.message === "string" ? n.message : "",
      tag: id === null ? "stride" : String(id),
      icon: ICON,
      badge: BADGE,
      timestamp: isNaN(created) ? Date.now() : created,
      data: { id: id, url: localPath(n.url), group: typeof n.group === "string" ? n.group : null }
    }
  ));
});

self.addEventListener("notificationclick", function (event) {
  var data = event.notification.data || {};
  var url = localPath(data.url);
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then(function (windows) {
      var mine = windows.filter(function (client) {
        return new URL(client.url).origin === self.location.origin;
      });
      // The tab used last comes first in matchAll's order; a focused one wins.
      var tab = mine.filter(function (client) { return client.focused; })[0] || mine[0];
      return tab ? tab.focus() : self.clients.openWindow(url);
    })
    .then(function (client) {
      if (client) {
        client.postMessage({ type: "stride:open", id: data.id, url: url, group: data.group });
      }
    }));
});
