/* An import's page: the progress bar follows `import_progress` live, and the
 * outcome appears, file by file, when `import_finished` arrives.
 *
 * The count is plain text (read on demand); only the final summary is in a
 * live region, so a screen reader is not told a number every second.
 */
(function () {
  "use strict";

  var box = document.getElementById("import");
  if (!box) return;
  var importId = Number(box.dataset.importId);

  function progress(data) {
    if (!data || data.import_id !== importId || !data.total) return;
    var bar = document.getElementById("import-progress");
    var count = document.getElementById("import-count");
    bar.max = data.total;
    bar.value = data.done;
    count.textContent = data.unit === "tenths"
      ? Math.round(100 * data.done / data.total) + "% of the file read."
      : data.done + " of " + data.total + (data.total === 1 ? " file" : " files") + " read.";
  }

  // Swap in the finished page's sections: the summary, the error, every file's outcome.
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        ["import", "import-outcome"].forEach(function (id) {
          var fresh = page.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        });
        box = document.getElementById("import");
      });
  }

  // Both come from static/js/tabs.js and notifications.js, in whichever tab holds
  // the socket and in every other tab of the browser. A finish that happened
  // before this page connected arrives too: the socket replays notifications
  // newer than the page's last id.
  document.addEventListener("fitness:import_progress", function (event) { progress(event.detail); });
  document.addEventListener("fitness:notification", function (event) {
    var n = event.detail;
    if (n && n.kind === "import_finished" && n.data && n.data.import_id === importId) refresh();
  });
})();
