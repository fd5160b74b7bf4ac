// Starts ReDoc on the page's #redoc element. It lives in its own file, not
// an inline <script>, so the page runs under a Content-Security-Policy that
// allows scripts from 'self' only (ReDoc still needs inline styles and a
// blob: worker for its search index; see apidocs.ContentSecurityPolicy).
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  if (!el || !window.Redoc || typeof window.Redoc.init !== "function") {
    return;
  }
  window.Redoc.init(el.getAttribute("data-spec-url"), {
    expandResponses: "200,201",
    hideDownloadButton: false,
    pathInMiddlePanel: true
  }, el);
})();
