// herken: keyboard shortcuts and the full-screen button. Everything works without this script;
// it only saves a trainer some clicks. Elements with data-key="x" are clicked when x is pressed
// (not while typing in a field).
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    var key = e.key === " " ? "space" : e.key.toLowerCase();
    var el = document.querySelector('[data-key~="' + key + '"]');
    if (el) {
      e.preventDefault();
      el.click();
    }
  });
  var fs = document.getElementById("fullscreen");
  if (fs && document.documentElement.requestFullscreen) {
    fs.hidden = false;
    fs.addEventListener("click", function () {
      if (document.fullscreenElement) {
        document.exitFullscreen();
      } else {
        document.documentElement.requestFullscreen();
      }
    });
  }
})();
