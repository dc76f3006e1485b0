/* Progressive enhancements for every page: keyboard shortcuts, copy buttons, thumbnail
   fallbacks, snippet tabs. Loaded with defer; the CSP allows no inline script. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Thumbnails: show the generated placeholder when an image cannot load (always offline).
  function markFailed(img) { img.classList.add("failed"); }
  document.addEventListener("error", function (event) {
    if (event.target.matches && event.target.matches("img.thumb-img")) markFailed(event.target);
  }, true);
  function checkImages(root) {
    root.querySelectorAll("img.thumb-img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("loading") !== "lazy") markFailed(img);
    });
  }

  // The animated thumbnail plays on hover, where there is one.
  document.addEventListener("mouseover", function (event) {
    var img = event.target.closest && event.target.closest(".thumb") && event.target.closest(".thumb").querySelector("img[data-animated]");
    if (img && !img.dataset.still) { img.dataset.still = img.src; img.src = img.dataset.animated; }
  });
  document.addEventListener("mouseout", function (event) {
    var thumb = event.target.closest && event.target.closest(".thumb");
    var img = thumb && thumb.querySelector("img[data-still]");
    if (img && !thumb.contains(event.relatedTarget)) { img.src = img.dataset.still; delete img.dataset.still; }
  });

  // Copy buttons: data-copy holds the text, or data-copy-target names an element.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy], [data-copy-target]");
    if (!button) return;
    event.preventDefault();
    var text = button.dataset.copy;
    if (text === undefined) {
      var source = document.getElementById(button.dataset.copyTarget);
      text = source ? source.textContent : "";
    }
    if (!navigator.clipboard) return;
    navigator.clipboard.writeText(text).then(function () {
      button.classList.add("copied");
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1200);
    }, function () {});
  });

  // Snippet tabs (ARIA tabs pattern).
  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest("[data-tabs] [role=tab]");
    if (!tab) return;
    var tabs = tab.closest("[data-tabs]");
    tabs.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    });
  });

  // Keyboard: "/" focuses search, Esc clears it, j/k or arrows move between cards.
  function cards() { return Array.prototype.slice.call(document.querySelectorAll(".grid .card")); }
  function typing(target) { return target.closest && target.closest("input, textarea, select, [contenteditable]"); }
  document.addEventListener("keydown", function (event) {
    var search = document.getElementById("q") || document.querySelector("input[type=search]");
    if (event.key === "/" && !typing(event.target) && search) {
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }
    if (event.key === "Escape" && event.target === search && search.value) {
      search.value = "";
      search.dispatchEvent(new Event("input", { bubbles: true }));
      return;
    }
    if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
    var step = { j: 1, ArrowDown: 1, ArrowRight: 1, k: -1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    var all = cards();
    if (!all.length) return;
    var current = document.activeElement && document.activeElement.closest && document.activeElement.closest(".card");
    var index = current ? all.indexOf(current) + step : 0;
    var next = all[Math.max(0, Math.min(all.length - 1, index))];
    event.preventDefault();
    next.querySelector(".card-title a").focus();
    next.scrollIntoView({ block: "nearest" });
  });

  // The search box's own blur "change" must not re-submit the filter form (typing already did).
  document.addEventListener("change", function (event) {
    if (event.target.id === "q") event.stopPropagation();
  }, true);

  // On narrow screens the filter rail starts folded and keeps the state the user gave it.
  var narrow = window.matchMedia("(max-width: 900px)");
  var railOpen = !narrow.matches;
  function applyRail() {
    var rail = document.querySelector(".rail-toggle");
    if (rail && narrow.matches) rail.open = railOpen;
  }
  document.addEventListener("toggle", function (event) {
    if (event.target.matches && event.target.matches(".rail-toggle")) railOpen = event.target.open;
  }, true);

  // Failed requests (a network error, a 5xx): the page must not pretend. A banner says so
  // and offers to retry; the controls go back to what the results on screen answer (the
  // URL's state); a failed shortlist change says so in its own control.
  var FAILED = "Could not update — fal catalog did not answer.";
  var lastFailure = null;
  function restoreControls(elt) {
    var form = elt.closest && elt.closest("form");
    if (!form || (form.getAttribute("method") || "get").toLowerCase() !== "get") return;
    // The rail, the sort and the compare picks are rendered with each result, so their
    // defaults are the state on screen; the search box outside them follows the URL.
    form.reset();
    var q = form.querySelector("#q");
    if (q) q.value = new URLSearchParams(location.search).get("q") || "";
  }
  function showBanner() {
    var banner = document.getElementById("request-error");
    if (banner) return banner;
    banner = document.createElement("div");
    banner.id = "request-error";
    banner.className = "banner banner-error request-error";
    banner.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = FAILED + " ";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "button";
    retry.id = "request-retry";
    retry.textContent = "Retry";
    banner.append(text, retry);
    (document.getElementById("main") || document.body).prepend(banner);
    return banner;
  }
  function hideBanner() {
    var banner = document.getElementById("request-error");
    if (banner) banner.remove();
  }
  function requestFailed(event) {
    var detail = event.detail;
    var elt = detail.elt;
    var menu = elt && elt.closest && elt.closest(".shortlist-menu");
    if (menu) {
      var pop = menu.querySelector(".shortlist-pop");
      var note = pop.querySelector(".shortlist-error") || document.createElement("p");
      note.className = "shortlist-error";
      note.setAttribute("role", "alert");
      note.textContent = "Not saved — fal catalog did not answer. Try again.";
      if (!note.parentNode) pop.prepend(note);
      menu.open = true;
      return;
    }
    var config = detail.requestConfig || {};
    var verb = (config.verb || "get").toLowerCase();
    var path = verb === "get" && detail.pathInfo ? detail.pathInfo.finalRequestPath : config.path;
    var pushed = elt.closest && elt.closest("[hx-push-url]");
    lastFailure = {
      verb: verb,
      path: path,
      elt: elt,
      target: detail.target,
      swap: (elt.closest && elt.closest("[hx-swap]") || { getAttribute: function () { return null; } }).getAttribute("hx-swap"),
      push: pushed ? pushed.getAttribute("hx-push-url") : undefined,
    };
    restoreControls(elt);
    showBanner();
  }
  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && !event.detail.elt.closest(".shortlist-menu")) hideBanner();
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#request-retry") || !lastFailure) return;
    var failure = lastFailure;
    lastFailure = null;
    hideBanner();
    var target = failure.target && failure.target.isConnected ? failure.target : null;
    if (!target) { location.reload(); return; }
    // A GET is asked again at the URL that failed (its query holds the new filters, which
    // the restored controls no longer do); a POST is sent again from its form.
    var source = failure.verb === "get" || !failure.elt.isConnected ? document.body : failure.elt;
    if (failure.elt.isConnected) failure.elt.focus();
    var q = document.getElementById("q");
    var typed = q && q.value;
    htmx.ajax(failure.verb, failure.path, {
      source: source, target: target, swap: failure.swap || "innerHTML", push: failure.push,
    }).then(function () {
      // The search box follows the URL the retried results pushed (unless typed in since).
      if (q && q.value === typed) q.value = new URLSearchParams(location.search).get("q") || "";
    });
  });

  document.addEventListener("DOMContentLoaded", function () { checkImages(document); applyRail(); });
  document.addEventListener("htmx:afterSettle", function (event) { checkImages(event.target); applyRail(); });
})();
