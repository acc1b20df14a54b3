// Swagger UI for /docs, initialised from a file because the CSP forbids inline script.
// "Try it out" runs with the browser's session, so POSTs carry the page's CSRF token.
window.addEventListener("load", function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (req) {
      if (token && req.method && req.method.toUpperCase() !== "GET") {
        req.headers["X-CSRF-Token"] = token;
      }
      return req;
    }
  });
});
