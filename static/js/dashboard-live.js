/* The dashboard keeps up: when a notification about workouts, goals, records or
 * streaks arrives, the cards it may have changed are fetched again and swapped
 * in, so a goal just reached reads "Achieved" without a reload.
 *
 * One request per notification group at most (a completion's goals, record and
 * streak arrive together, after the COMMIT that stored them all), never two at
 * once: a burst of groups (a replay after a reconnect) costs one request in
 * flight and one after it. Only cards whose markup changed are replaced, and
 * the focus stays where it was when it was inside one of them.
 */
(function () {
  "use strict";

  var dashboard = document.getElementById("dashboard");
  if (!dashboard || typeof fetch !== "function") return;

  var KINDS = ["workout_completed", "goal_achieved", "personal_record", "streak"];
  var KEPT = 200;
  var url = dashboard.dataset.liveUrl;
  var asked = [];
  var running = false;
  var again = false;
  // The markup each card was rendered with, before scripts touched it (relative times).
  var rendered = {};

  function cards(root) {
    return Array.prototype.slice.call(root.querySelectorAll("[data-live-key]"));
  }
  cards(dashboard).forEach(function (card) { rendered[card.dataset.liveKey] = card.outerHTML; });

  function focusables(root) {
    return Array.prototype.slice.call(root.querySelectorAll("a[href], button, input, select, textarea"));
  }

  /* Swap `card` for `fresh`, keeping the focus on the same control if it was inside. */
  function replace(card, fresh) {
    var inside = focusables(card).indexOf(document.activeElement);
    card.replaceWith(fresh);
    if (inside !== -1) {
      var same = focusables(fresh)[inside];
      (same || dashboard).focus();
    }
  }

  function swap(html) {
    var body = new DOMParser().parseFromString(html, "text/html").body;
    var fresh = cards(body);
    var keys = fresh.map(function (card) { return card.dataset.liveKey; });
    var present = cards(dashboard).map(function (card) { return card.dataset.liveKey; });
    if (keys.join(" ") !== present.join(" ")) {
      // A first workout or goal turns the welcome card into the dashboard: all anew.
      // A copy of the list first: adopting a node takes it out of the live `childNodes`.
      dashboard.replaceChildren.apply(dashboard, Array.prototype.slice.call(body.childNodes)
        .map(function (node) { return document.adoptNode(node); }));
    } else {
      fresh.forEach(function (card) {
        var key = card.dataset.liveKey;
        if (rendered[key] === card.outerHTML) return;
        replace(dashboard.querySelector('[data-live-key="' + key + '"]'), document.adoptNode(card));
      });
    }
    fresh.forEach(function (card) { rendered[card.dataset.liveKey] = card.outerHTML; });
    // The unread count has its own live source, which may be newer than this answer.
    var badge = document.getElementById("unread-count");
    if (badge) {
      dashboard.querySelectorAll(".unread-total").forEach(function (el) { el.textContent = badge.textContent; });
    }
    if (window.fitnessTime) window.fitnessTime.humanizeAll(dashboard);
  }

  function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) swap(html); })
      .catch(function () { /* offline: the next notification or a reload catches up */ })
      .then(function () {
        running = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  document.addEventListener("fitness:notification", function (event) {
    var n = event.detail;
    if (!n || KINDS.indexOf(n.kind) === -1) return;
    var group = typeof n.group === "string" && n.group ? n.group : String(n.id);
    if (asked.indexOf(group) !== -1) return;
    asked.push(group);
    if (asked.length > KEPT) asked.shift();
    refresh();
  });
})();
