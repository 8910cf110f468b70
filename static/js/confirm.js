/* Ask before a destructive form is sent: any form with data-confirm="question".
 *
 * Replaces inline onsubmit handlers, which the Content-Security-Policy
 * (script-src 'self', no 'unsafe-inline') forbids.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
