/* The navigation's Requests badge counts a follow request the moment it arrives,
 * without a reload. The page renders the stored count; each `follow_request`
 * notification received afterwards (static/js/notifications.js sends each one
 * once, as `fitness:notification`) adds one. The badge is plain text.
 */
(function () {
  "use strict";

  document.addEventListener("fitness:notification", function (event) {
    var n = event.detail;
    if (!n || n.kind !== "follow_request") return;
    var link = document.getElementById("follow-requests-link");
    if (!link) return;
    var badge = link.querySelector(".follow-requests-count");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge follow-requests-count";
      badge.textContent = "0";
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " waiting";
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
      link.appendChild(hidden);
    }
    badge.textContent = String((Number(badge.textContent) || 0) + 1);
  });
})();
