// Filters for mqtt-check reports: plain JavaScript, no framework, no
// network. A filter bar (.filters, data-for="TABLE-ID") holds groups of
// toggle buttons (data-filter="KEY" data-value="VALUE") and an optional
// search box. A row is shown when, for every group with a pressed button,
// its data-KEY (values separated by "|") holds one of the pressed values,
// and its text contains the search words.
(function () {
  "use strict";

  function values(row, key) {
    var v = row.getAttribute("data-" + key);
    return v === null ? [] : v.split("|");
  }

  function apply(bar) {
    var table = document.getElementById(bar.getAttribute("data-for"));
    if (!table) {
      return;
    }
    var want = {};
    bar.querySelectorAll("button[data-filter][aria-pressed=true]").forEach(function (b) {
      var k = b.getAttribute("data-filter");
      (want[k] = want[k] || []).push(b.getAttribute("data-value"));
    });
    var box = bar.querySelector("input[type=search]");
    var words = box ? box.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    var rows = table.tBodies[0].rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var ok = Object.keys(want).every(function (k) {
        var have = values(row, k);
        return want[k].some(function (v) { return have.indexOf(v) >= 0; });
      });
      if (ok && words.length) {
        var text = row.textContent.toLowerCase();
        ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      }
      row.hidden = !ok;
      if (ok) {
        shown++;
      }
    }
    var count = bar.querySelector(".count");
    if (count) {
      count.textContent = "showing " + shown + " of " + rows.length;
    }
  }

  document.querySelectorAll(".filters").forEach(function (bar) {
    bar.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) {
        return;
      }
      if (b.hasAttribute("data-reset")) {
        bar.querySelectorAll("button[data-filter]").forEach(function (x) {
          x.setAttribute("aria-pressed", "false");
        });
        var box = bar.querySelector("input[type=search]");
        if (box) {
          box.value = "";
        }
      } else if (b.hasAttribute("data-filter")) {
        b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
      }
      apply(bar);
    });
    bar.addEventListener("input", function () { apply(bar); });
    apply(bar);
  });

  // Buttons that open or close every <details> of a section.
  document.querySelectorAll("button[data-expand]").forEach(function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-expand") === "open";
      document.querySelectorAll(b.getAttribute("data-target")).forEach(function (d) {
        d.open = open;
      });
    });
  });
})();
