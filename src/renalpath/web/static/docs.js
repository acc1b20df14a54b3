// Swagger UI for /docs, initialised from a file because the CSP forbids inline script.
// "Try it out" runs with the browser's session, so POSTs carry the page's CSRF token.
//
// Accessibility (axe, WCAG 2.1 AA): each operation's summary is one <button>; Swagger UI puts
// the deep link of the path (an <a>) inside it, a focusable element within a button that
// keyboard and screen-reader users cannot reach on its own ("nested-interactive").  The
// plugin below renders that path as text; deep linking itself (the address follows the open
// operation, and an address with #/tag/operation opens it) is kept.  Colours are docs.css.
(function () {
  "use strict";

  // The path in an operation's summary, without the link (the summary button toggles it).
  function plainSummaryPath() {
    return {
      wrapComponents: {
        OperationSummaryPath: function (Original, system) {
          return function (props) {
            var operationProps = props.operationProps.set("isDeepLinkingEnabled", false);
            return system.React.createElement(
              Original, Object.assign({}, props, { operationProps: operationProps })
            );
          };
        }
      }
    };
  }

  // Landmarks and headings: Swagger UI's own <main> holds the operations and schemas; the
  // title and description above it go in a named region ("region"), and a heading for the
  // operations sits between the title (h1) and the tag headings (h3) ("heading-order").
  function landmarksAndHeadings() {
    return {
      wrapComponents: {
        InfoContainer: function (Original, system) {
          return function (props) {
            var h = system.React.createElement;
            return h("section", { "aria-label": "About this API" }, h(Original, props));
          };
        },
        operations: function (Original, system) {
          return function (props) {
            var h = system.React.createElement;
            return h(system.React.Fragment, null,
              h("h2", { className: "visually-hidden" }, "Operations"), h(Original, props));
          };
        }
      }
    };
  }

  // Form controls: the request body's <textarea> has no label ("label").
  function labelledControls() {
    return {
      wrapComponents: {
        TextArea: function (Original, system) {
          return function (props) {
            var named = props["aria-label"] || props.title || props.id;
            if (named || String(props.className || "").indexOf("body-param__text") < 0) {
              return system.React.createElement(Original, props);
            }
            return system.React.createElement(
              Original, Object.assign({ "aria-label": "Request body" }, props)
            );
          };
        }
      }
    };
  }

  // Code blocks (examples, responses, curl) scroll inside a fixed height; the keyboard must
  // reach them to scroll them ("scrollable-region-focusable").  Their <pre> is drawn by a
  // highlighter that takes no extra attributes, so they are made focusable once rendered.
  var SCROLLING_CODE = ".highlight-code > pre, pre.microlight, .curl-command pre";

  // Each opened operation's response table is a live region; several open at once need
  // distinct names ("landmark-unique"): the operation's method and path.
  function nameResponseRegions(root) {
    root.querySelectorAll("table.responses-table[role=region]:not([aria-label])")
      .forEach(function (table) {
        var op = table.closest(".opblock");
        var method = op && op.querySelector(".opblock-summary-method");
        var path = op && op.querySelector(".opblock-summary-path");
        var name = [method, path].map(function (e) {
          return e ? e.textContent.replace(/\u200b/g, "").trim() : "";
        }).join(" ").trim();
        table.setAttribute("aria-label", "Responses of " + (name || "this operation"));
      });
  }

  function focusableCode(root) {
    var update = function () {
      root.querySelectorAll(SCROLLING_CODE).forEach(function (pre) {
        if (!pre.hasAttribute("tabindex")) pre.setAttribute("tabindex", "0");
      });
      nameResponseRegions(root);
    };
    new MutationObserver(update).observe(root, { childList: true, subtree: true });
    update();
  }

  window.addEventListener("load", function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var token = meta ? meta.getAttribute("content") : "";
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      plugins: [plainSummaryPath, landmarksAndHeadings, labelledControls],
      layout: "BaseLayout",
      // Plain code: every bundled highlighting theme has colours under 4.5:1 on its background.
      syntaxHighlight: { activated: false },
      requestInterceptor: function (req) {
        if (token && req.method && req.method.toUpperCase() !== "GET") {
          req.headers["X-CSRF-Token"] = token;
        }
        return req;
      }
    });
    focusableCode(document.getElementById("swagger-ui"));  // and names the response regions
  });
})();
