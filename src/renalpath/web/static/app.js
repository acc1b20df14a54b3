// renalpath UI helpers. Loaded as a file (the CSP forbids inline script); everything works
// without it — it adds the print button on the tumour-board sheet and loading feedback on
// the study pages.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-button");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});

// ---- Study pages: loading feedback and no double submits ---------------------------------
// A study run takes about a second and a PDF one to two: while it runs, the submit button is
// disabled and a status line says what is happening; a second click is ignored.
(function () {
  function say(form, text) {
    var note = form && form.querySelector(".busy-note");
    if (note) { note.textContent = text; }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("study-form")) { return; }
    if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    form.setAttribute("aria-busy", "true");
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    say(form, "Running the analysis…");
  });

  // Back/forward cache: a page restored from history must not stay disabled.
  window.addEventListener("pageshow", function () {
    var forms = document.querySelectorAll("form.study-form[aria-busy=true]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].removeAttribute("aria-busy");
      var buttons = forms[i].querySelectorAll("button[type=submit]");
      for (var j = 0; j < buttons.length; j++) { buttons[j].disabled = false; }
      say(forms[i], "");
    }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.slow-download") : null;
    if (!link || !window.fetch || !window.URL) { return; }
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") { return; }
    var form = document.querySelector("form.study-form");
    link.setAttribute("aria-busy", "true");
    link.setAttribute("aria-disabled", "true");
    say(form, "Preparing the PDF…");
    var done = function () {
      link.removeAttribute("aria-busy");
      link.removeAttribute("aria-disabled");
    };
    fetch(link.href, { credentials: "same-origin" }).then(function (resp) {
      if (!resp.ok) { window.location.href = link.href; return null; }  // show the error page
      var name = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "");
      return resp.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = document.createElement("a");
        a.href = url;
        a.download = name ? name[1] : "report.pdf";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        say(form, "PDF ready.");
      });
    }).catch(function () {
      window.location.href = link.href;
    }).then(done, done);
  });
}());
