/* System notifications and Web Push for this browser, from the settings page's button.
 *
 * A click on #enable-system-notifications asks the browser's permission, then
 * registers the service worker (/sw.js), subscribes this browser with the
 * app's VAPID key (/push/key) and sends the subscription to the server
 * (POST /push/subscriptions, CSRF token in X-CSRFToken). The device id the
 * server answers is kept in localStorage as `stride.device`: the popups
 * script sends it as `auth.device`, so while a tab is connected this device
 * hears notifications over its socket and gets no push.
 *
 * On every signed-in page it also:
 * - keeps the subscription current: a browser may replace it, and the server
 *   must then learn the new endpoint;
 * - answers the worker after a click on a notification: mark its group read, go to its url;
 * - closes this device's notifications once nothing is unread (read elsewhere).
 */
(function () {
  "use strict";

  var DEVICE = "stride.device";
  var ENDPOINT = "stride.endpoint";
  var notifications = typeof window.Notification === "function";
  var pushable = notifications && "serviceWorker" in navigator && "PushManager" in window;
  var button = document.getElementById("enable-system-notifications");
  var status = document.getElementById("system-notifications-status");
  var pushStatus = document.getElementById("push-status");

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (error) { return null; }
  }

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (error) { /* private mode: the device id is simply not kept */ }
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function sayPush(text) {
    if (pushStatus) pushStatus.textContent = text;
  }

  /* Two lines: system notifications at all, and Web Push for when Stride is closed. */
  function describe() {
    if (status) {
      if (!notifications) {
        status.textContent = "This browser cannot show system notifications.";
      } else if (Notification.permission === "granted") {
        status.textContent = "System notifications are on.";
      } else if (Notification.permission === "denied") {
        status.textContent = "System notifications are blocked in this browser's site settings.";
      } else {
        status.textContent = "System notifications are off.";
      }
    }
    if (!pushable) {
      sayPush("This browser cannot get notifications while Stride is closed.");
    } else if (notifications && Notification.permission === "granted" && stored(DEVICE)) {
      sayPush("This device also gets them while Stride is closed.");
    } else {
      sayPush("");
    }
  }

  function applicationServerKey(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(base64 + "===".slice((base64.length + 3) % 4));
    var key = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) key[i] = raw.charCodeAt(i);
    return key;
  }

  function json(response) {
    if (!response.ok) throw new Error("the server answered " + response.status);
    return response.json();
  }

  /* Register the worker, subscribe, and tell the server; resolves to the device id. */
  function subscribe() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        return fetch("/push/key", { credentials: "same-origin" }).then(json).then(function (key) {
          return registration.pushManager.getSubscription().then(function (existing) {
            return existing || registration.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: applicationServerKey(key.publicKey)
            });
          });
        });
      })
      .then(function (subscription) {
        var body = typeof subscription.toJSON === "function" ? subscription.toJSON() : subscription;
        return fetch("/push/subscriptions", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ endpoint: body.endpoint, keys: body.keys })
        }).then(json).then(function (answer) {
          store(DEVICE, answer.id);
          store(ENDPOINT, body.endpoint);
          return answer.id;
        });
      });
  }

  if (button) {
    // A device the server no longer has for this login (it ended elsewhere, or
    // was removed): forget it, so the page says so and the button subscribes anew.
    var known = (button.getAttribute("data-devices") || "").split(" ");
    if (stored(DEVICE) && known.indexOf(stored(DEVICE)) < 0) {
      store(DEVICE, null);
      store(ENDPOINT, null);
    }
    button.disabled = !notifications;
    button.addEventListener("click", function () {
      if (!notifications) return;
      Promise.resolve(Notification.requestPermission()).then(function (permission) {
        describe();
        if (permission !== "granted" || !pushable) return null;
        sayPush("Turning them on for when Stride is closed…");
        return subscribe().then(describe, function () {
          sayPush("This browser could not subscribe to notifications for when Stride is closed; " +
                  "they show while it is open.");
        });
      }, describe);
    });
    describe();
  }

  if (!pushable) return;

  // A browser that was subscribed may have replaced its subscription since.
  if (stored(DEVICE) && Notification.permission === "granted") {
    navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration && registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription || subscription.endpoint !== stored(ENDPOINT)) return subscribe();
      return null;
    }).catch(function () { /* tried again on the next page */ });
  }

  // Signing out ends this device's subscription on the server; forget its id here too.
  document.querySelectorAll('form[action$="/auth/logout"], form[action$="/auth/logout-everywhere"]')
    .forEach(function (form) {
      form.addEventListener("submit", function () { store(DEVICE, null); store(ENDPOINT, null); });
    });

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: body ? { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" }
        : { "X-CSRFToken": csrfToken() },
      body: body || undefined
    });
  }

  /* The push showed the group's first notification: mark the whole group read, as a popup does. */
  function markGroupRead(id, group) {
    return fetch("/api/notifications?after=" + (id - 1), { credentials: "same-origin" })
      .then(json)
      .then(function (answer) {
        var ids = answer.notifications.filter(function (n) {
          return n.id === id || (group !== null && n.group === group);
        }).map(function (n) { return "ids=" + n.id; }).slice(0, 50);
        if (!ids.length) ids = ["ids=" + id];
        return post("/notifications/read", ids.join("&"));
      })
      .catch(function () { return post("/notifications/" + id + "/read"); })
      .catch(function () { /* it stays unread in the inbox */ });
  }

  // After a click on a system notification the worker hands it to this page.
  navigator.serviceWorker.addEventListener("message", function (event) {
    var message = event.data || {};
    if (message.type !== "stride:open") return;
    var done = Promise.resolve();
    if (typeof message.id === "number" && message.id > 0) {
      done = markGroupRead(message.id, typeof message.group === "string" ? message.group : null);
    }
    done.then(function () {
      if (typeof message.url === "string" && message.url.charAt(0) === "/" &&
          message.url.charAt(1) !== "/" && message.url !== window.location.pathname) {
        window.location.assign(message.url);
      }
    });
  });
  navigator.serviceWorker.startMessages();

  // Read elsewhere: once nothing is unread, this device's notifications are stale.
  var unread = document.getElementById("unread-count");
  function closeWhenAllRead() {
    if (!unread || unread.textContent.trim() !== "0") return;
    navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration ? registration.getNotifications() : [];
    }).then(function (shown) {
      shown.forEach(function (notification) { notification.close(); });
    }).catch(function () { /* nothing to close */ });
  }
  if (unread) {
    new MutationObserver(closeWhenAllRead).observe(unread, { childList: true, characterData: true, subtree: true });
    closeWhenAllRead();
  }
})();
