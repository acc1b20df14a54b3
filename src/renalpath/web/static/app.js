// renalpath UI helpers. Loaded as a file (the CSP forbids inline script); everything works
// without it — it only adds the print button on the tumour-board sheet.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-button");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});
