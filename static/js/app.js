/* Behaviour every page shares: the phone menu, confirmations before deleting, the
 * first wrong field of a form in focus, and times shown as "3 min ago" with the
 * exact time, in the reader's locale, on hover.
 *
 * Loaded in <head> (cached for a year under a hashed URL) so the `js` class is
 * set before the first paint: the menu starts closed on phones, without a flash
 * of the open navigation. Without script the navigation simply stays open.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var relative = typeof Intl === "object" && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  var exact = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60]];

  /* "3 minutes ago", "yesterday"; "just now" under a minute. */
  function ago(date, now) {
    var seconds = Math.round((date.getTime() - now) / 1000);
    if (!relative || Math.abs(seconds) < 60) return "just now";
    for (var i = 0; i < UNITS.length; i++) {
      var size = UNITS[i][1];
      if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), UNITS[i][0]);
    }
    return "just now";
  }

  function humanize(time, now) {
    var date = new Date(time.getAttribute("datetime"));
    if (isNaN(date.getTime())) return;
    time.textContent = ago(date, now);
    time.title = exact.format(date);
  }

  function humanizeAll(root) {
    var now = Date.now();
    (root || document).querySelectorAll("time[data-relative]").forEach(function (t) { humanize(t, now); });
  }

  window.fitnessTime = { humanize: humanize, humanizeAll: humanizeAll };

  document.addEventListener("DOMContentLoaded", function () {
    humanizeAll(document);

    // A form sent back with errors puts the cursor in the first wrong field, whose
    // message the screen reader then reads out (aria-describedby).
    var invalid = document.querySelector('main [aria-invalid="true"]');
    if (invalid) invalid.focus();
    setInterval(function () { humanizeAll(document); }, 30000);

    var button = document.querySelector(".menu-button");
    var nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (button && nav) {
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", String(open));
        nav.classList.toggle("open", open);
      });
      document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && nav.classList.contains("open")) {
          button.setAttribute("aria-expanded", "false");
          nav.classList.remove("open");
          button.focus();
        }
      });
    }

    // <form data-confirm="Delete this goal?">: ask before a destructive post. In
    // place of inline onsubmit handlers, which the Content-Security-Policy forbids.
    document.addEventListener("submit", function (event) {
      var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    });
  });
})();
