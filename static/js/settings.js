/* Settings pages: copy buttons, and a widget preview that follows the form as it changes. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy]");
    if (!btn) return;
    var source = document.querySelector(btn.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      var label = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = label; }, 1500);
    });
  });

  var FIELDS = {
    widget_title: "title", widget_subtitle: "subtitle", widget_greeting: "greeting",
    widget_placeholder: "newMessagePlaceholder", widget_primary_color: "primaryColor",
    widget_company_name: "companyName", widget_position: "position",
    widget_show_availability: "showAgentAvailability", widget_branding_hidden: "isBrandingHidden",
  };
  var timer = null;
  function refreshPreview() {
    var frame = document.getElementById("widget-preview");
    var form = document.getElementById("widget-form");
    if (!frame || !form) return;
    var q = "token=" + encodeURIComponent(frame.getAttribute("data-token")) + "&preview=1";
    Object.keys(FIELDS).forEach(function (name) {
      var input = form.elements[name];
      if (!input) return;
      var value = input.type === "checkbox" ? (input.checked ? "true" : "false") : input.value;
      q += "&" + FIELDS[name] + "=" + encodeURIComponent(value);
    });
    frame.src = "/chat?" + q;
  }
  document.addEventListener("input", function (e) {
    if (!e.target.closest("#widget-form")) return;
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 250);
  });
  document.addEventListener("change", function (e) {
    if (e.target.closest("#widget-form")) refreshPreview();
  });
})();
