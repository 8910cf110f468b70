/* Registration: fill the hidden `timezone` field with the browser's IANA zone,
 * so dates, weeks and streaks follow the user's own calendar from the start.
 * Without JavaScript the field stays empty and the server uses UTC.
 */
(function () {
  "use strict";

  var field = document.querySelector('input[type="hidden"][name="timezone"]');
  if (!field || field.value) return;
  try {
    field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) { /* no Intl: UTC */ }
})();
