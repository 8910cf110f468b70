/* System notifications: with the browser's permission, a notification that is
 * not silent and arrives while the page is hidden also shows as a system
 * notification. Permission is asked only when the settings page's button is
 * clicked. One per group of notifications, tagged with the id of the group's
 * first, so two tabs of one browser show it once. The popups script
 * (notifications.js) calls `fitnessSystemNotifications.show`; this file never
 * opens a socket of its own.
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

  /* One system notification per group: the first member that is not silent on
   * top (its id is the tag), the others' titles and messages in the body. It
   * waits a moment for the rest of the group, like a popup; a group that grows
   * later replaces its notification under the same tag. `open` runs
   * on a click, after the tab is focused. Called by notifications.js, which
   * decides when (a hidden page) and which tab (one per browser). */
  var SETTLE_MS = 150;
  var pending = new Map();  // group key -> timer: the members of one action arrive together

  function show(group, open) {
    if (!supported || Notification.permission !== "granted") return;
    clearTimeout(pending.get(group.key));
    pending.set(group.key, setTimeout(function () {
      pending.delete(group.key);
      raise(group, open);
    }, SETTLE_MS));
  }

  function raise(group, open) {
    var members = group.members.filter(function (m) { return !m.silent; });
    if (!members.length) return;
    var lead = members[0];
    var body = [String(lead.message || "")].concat(members.slice(1).map(function (m) {
      return String(m.title || "") + ": " + String(m.message || "");
    }));
    var shown = new Notification(String(lead.title || ""), {
      body: body.join("\n"),
      tag: String(lead.id)
    });
    shown.addEventListener("click", function () {
      window.focus();
      shown.close();
      if (open) open(lead);
    });
  }

  window.fitnessSystemNotifications = { show: show };
})();
