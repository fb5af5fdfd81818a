/* The identity document form: the expiry date is marked required exactly for the document types
   that state one (data-expiry-required on each option, from the one table, DOCUMENT_RULES).
   Without script the server still says what is missing. */
(function () {
  "use strict";
  function update(select) {
    var input = document.getElementById("document_expires_on");
    var marker = document.getElementById("document_expires_on-optional");
    if (!input) { return; }
    var option = select.options[select.selectedIndex];
    var required = !!(option && option.getAttribute("data-expiry-required") === "true");
    input.required = required;
    if (required) { input.setAttribute("aria-required", "true"); } else { input.removeAttribute("aria-required"); }
    if (marker) { marker.hidden = required; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("doc_type");
    if (!select) { return; }
    select.addEventListener("change", function () { update(select); });
    update(select);
  });
}());
