// The operator's zone (DESIGN §6): when the alarmhub_tz cookie is absent, set it from the
// browser and reload once if the page was rendered in another zone. Also submits the header's
// zone picker on change. Loaded in <head> of every console page; no inline script needed.
(function () {
  "use strict";
  var root = document.documentElement;
  var name = root.dataset.zoneCookie || "alarmhub_tz";
  var hasCookie = document.cookie.split("; ").some(function (c) { return c.indexOf(name + "=") === 0; });
  if (!hasCookie) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    // IANA names are cookie-safe as they are; the server reads them unencoded.
    if (/^[A-Za-z0-9_+\/-]+$/.test(zone)) {
      document.cookie = name + "=" + zone + "; path=/; max-age=31536000; samesite=lax";
      // Reload once only: if cookies are refused, the session flag stops a reload loop.
      var shown = root.dataset.activeZone;
      if (zone !== shown && !sessionStorage.getItem("alarmhub_tz_reloaded")) {
        sessionStorage.setItem("alarmhub_tz_reloaded", "1");
        window.location.reload();
      }
    }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });
})();
