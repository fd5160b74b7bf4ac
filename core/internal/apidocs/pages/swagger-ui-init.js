// Starts Swagger UI on the page's #swagger-ui element. It lives in its own
// file, not an inline <script>, so the page runs under a Content-Security-
// Policy that allows scripts from 'self' only. The spec URL comes from the
// element's data-spec-url attribute so this file never changes per server.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  if (!el || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: el.getAttribute("data-spec-url"),
    domNode: el,
    deepLinking: true,
    // No call to the public validator service: the CSP forbids it and the
    // document is validated when the server starts.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    displayRequestDuration: true,
    persistAuthorization: false
  });
})();
