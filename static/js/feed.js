/* The feed page: a workout that someone you follow completes while the page is
 * open appears at the top of the list, without a reload.
 *
 * `feed_item` comes from static/js/tabs.js (the tab holding the socket, and
 * every other tab it relays to) as the document event `fitness:feed_item`.
 * Each item is built from text nodes only, never HTML; one with a workout id
 * already in the list is shown once; the polite live region says what arrived.
 * Only the newest page listens (`data-live`): older pages stay as they are.
 */
(function () {
  "use strict";

  var list = document.getElementById("feed-list");
  var live = document.getElementById("feed-live");
  if (!list || !list.hasAttribute("data-live")) return;

  function shown(id) {
    return Array.prototype.some.call(list.children, function (li) {
      return li.dataset.workoutId === String(id);
    });
  }

  function localPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" &&
      url.indexOf("\\") === -1 ? url : null;
  }

  function item(data) {
    var li = document.createElement("li");
    li.className = "item feed-item";
    li.dataset.workoutId = String(data.workout_id);
    var box = document.createElement("div");
    var title = document.createElement("p");
    title.className = "item-title";
    var person = document.createElement("a");
    person.className = "user-link";
    person.href = "/u/" + encodeURIComponent(data.username);
    person.textContent = data.username;
    var workout = document.createElement("a");
    workout.href = localPath(data.url) || "/workouts/" + data.workout_id;
    workout.textContent = data.title;
    title.append(person, ": ", workout);
    var meta = document.createElement("p");
    meta.className = "item-meta";
    var when = document.createElement("span");
    when.textContent = "Just now";
    meta.append(when);
    box.append(title, meta);
    li.append(box);
    return li;
  }

  function arrived(data) {
    if (!data || typeof data.workout_id !== "number" || typeof data.username !== "string" ||
        typeof data.title !== "string" || shown(data.workout_id)) return;
    list.prepend(item(data));
    list.hidden = false;
    var empty = document.getElementById("feed-empty");
    if (empty) empty.hidden = true;
    if (live) live.textContent = data.username + " completed " + data.title + ".";
  }

  document.addEventListener("fitness:feed_item", function (event) { arrived(event.detail); });
})();
