/* Knowledge settings: "select all" selects every row on the page; a new list (after a bulk
   action or a filter change) starts with nothing selected. Rows that refresh themselves while
   processing keep their checkbox (hx-preserve). */
(function () {
  "use strict";
  function rows() {
    return document.querySelectorAll('input[name="selected"][form="knowledge-bulk"]');
  }
  document.addEventListener("change", function (e) {
    var all = e.target.closest("[data-select-all]");
    if (!all) return;
    rows().forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target.id !== "knowledge-list") return;
    rows().forEach(function (box) { box.checked = false; });
  });
})();
