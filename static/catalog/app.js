/* Progressive enhancements for every page: keyboard shortcuts, copy buttons, thumbnail
   fallbacks, snippet tabs. Loaded with defer; the CSP allows no inline script. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Thumbnails: show the generated placeholder when an image cannot load (always offline).
  // An image stays hidden over its placeholder until it has loaded (app.css), so a broken
  // image's icon never flashes before the placeholder.
  function markFailed(img) { img.classList.add("failed"); }
  function markLoaded(img) { img.classList.add("loaded"); }
  document.addEventListener("error", function (event) {
    if (event.target.matches && event.target.matches("img.thumb-img")) markFailed(event.target);
  }, true);
  document.addEventListener("load", function (event) {
    if (event.target.matches && event.target.matches("img.thumb-img")) markLoaded(event.target);
  }, true);
  function checkImages(root) {
    root.querySelectorAll("img.thumb-img").forEach(function (img) {
      if (img.complete && img.naturalWidth > 0) markLoaded(img);
      else if (img.complete && img.naturalWidth === 0 && img.getAttribute("loading") !== "lazy") markFailed(img);
      // A lazy image may have failed before this script listened (Chromium calls an
      // unloaded lazy image complete too, so that test cannot tell): decode() settles
      // when it loads or fails, whenever that is.
      else if (img.decode) img.decode().then(function () { markLoaded(img); }, function () { if (!img.naturalWidth) markFailed(img); });
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

  // Snippet tabs (WAI-ARIA tabs pattern): click or arrow keys select, one tab in the Tab
  // order (roving tabindex), Tab goes on into the panel.
  function selectTab(tab) {
    var tabs = tab.closest("[data-tabs]");
    tabs.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    });
  }
  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest("[data-tabs] [role=tab]");
    if (tab) selectTab(tab);
  });
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[data-tabs] [role=tab]");
    if (!tab || event.altKey || event.ctrlKey || event.metaKey) return;
    var all = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
    var index = all.indexOf(tab);
    var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: all.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    event.stopImmediatePropagation();  // not the grid's arrow-key card moves
    var chosen = all[(next + all.length) % all.length];
    selectTab(chosen);
    chosen.focus();
  });

  // Keyboard: "/" focuses search, Esc clears it, j/k or arrows move between cards.
  function cards() { return Array.prototype.slice.call(document.querySelectorAll(".grid .card")); }
  // Text fields keep their keys; a ticked facet, a sort or a button does not (after a
  // click the focus stays on it, and the shortcuts must still work).
  function typing(target) {
    var field = target.closest && target.closest("input, textarea, [contenteditable]");
    if (!field) return false;
    return !(field.tagName === "INPUT" && /^(checkbox|radio|button|submit|reset)$/.test(field.type));
  }
  function nativeArrows(target, key) {  // a radio group and a select move with the arrows
    return /^Arrow/.test(key) && target.closest && target.closest("input[type=radio], select");
  }
  document.addEventListener("keydown", function (event) {
    if (event.target.closest && event.target.closest("[role=tablist]")) return;
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
    if (nativeArrows(event.target, event.key)) return;
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

  // Compare picks: at the limit the other boxes go off at once, before the server answers
  // (its results render them off, with the reason), so a quick seventh tick is never sent.
  // Boxes held this way come back if the request fails (restoreControls).
  document.addEventListener("change", function (event) {
    var box = event.target;
    var results = box.checked && box.name === "compare" && box.closest && box.closest("[data-compare-max]");
    if (!results) return;
    var picked = results.querySelectorAll("input[name=compare][type=hidden], input[name=compare]:checked").length;
    if (picked < Number(results.dataset.compareMax)) return;
    results.querySelectorAll("input[name=compare][type=checkbox]:not(:checked):not(:disabled)").forEach(function (other) {
      other.disabled = true;
      other.dataset.held = "true";
    });
  });

  // The search box's own blur "change" must not re-submit the filter form (typing already did).
  document.addEventListener("change", function (event) {
    if (event.target.id === "q") event.stopPropagation();
  }, true);

  // One request per search: Enter or the Search button (the form's submit) soon after
  // typing would send the debounced search's request again. The search box and the form
  // both send the whole form, so an identical form state is the same request; it is
  // dropped at htmx:confirm, before hx-sync would abort the one already on its way.
  var lastFilters = null;
  document.addEventListener("htmx:confirm", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "results") return;
    var form = document.getElementById("filters");
    var elt = event.detail.elt;
    if (!form || (elt !== form && elt.id !== "q")) { lastFilters = null; return; }
    var state = new URLSearchParams(new FormData(form)).toString();
    if (state === lastFilters) { event.preventDefault(); return; }
    lastFilters = state;
  });
  function forgetFilters() { lastFilters = null; }
  document.addEventListener("htmx:responseError", forgetFilters);
  document.addEventListener("htmx:sendError", forgetFilters);
  document.addEventListener("htmx:historyRestore", forgetFilters);
  window.addEventListener("popstate", forgetFilters);

  // On narrow screens the filter rail starts folded and keeps the state the user gave it.
  var narrow = window.matchMedia("(max-width: 900px)");
  var phone = window.matchMedia("(max-width: 640px)");  // the dense list (app.css)
  var railOpen = !narrow.matches;
  function applyRail() {
    var rail = document.querySelector(".rail-toggle");
    if (!rail) return;
    if (narrow.matches) rail.open = railOpen;
    rail.dataset.applied = "true";
  }
  document.addEventListener("toggle", function (event) {
    // A swapped-in rail (rendered open) fires a toggle of its own before applyRail: not the user's.
    if (event.target.matches && event.target.matches(".rail-toggle") && event.target.dataset.applied) railOpen = event.target.open;
  }, true);
  // There, choosing a facet folds the panel and shows the results it asked for (the panel
  // is as long as the screen: the results would stay hidden below it).
  var showResults = false;
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!narrow.matches || !input.closest || !input.closest(".rail-toggle")) return;
    if (!input.matches("input[type=checkbox], input[type=radio], select")) return;
    railOpen = false;
    input.closest(".rail-toggle").open = false;
    showResults = true;
  });
  function revealResults() {
    if (!showResults) return;
    showResults = false;
    var area = document.querySelector(".grid-area");
    var bar = document.querySelector(".topbar");  // sticky: the results start below it
    if (!area) return;
    var top = area.getBoundingClientRect().top + window.scrollY - 8;
    // Unless it tucks away as the page scrolls down (a phone: tuckTopbarWhileScrollingDown).
    var tucks = phone.matches && top > window.scrollY;
    window.scrollTo(0, top - (bar && !tucks ? bar.offsetHeight : 0));
  }

  // The shortlist menus and the phone's top-bar menu (<details>) close on Esc, focus back on
  // their summary, and on a click outside them.
  var MENUS = "details.shortlist-menu[open], details.usermenu-fold[open]";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelectorAll(MENUS);
    open.forEach(function (menu) {
      var inside = menu.contains(document.activeElement);
      menu.open = false;
      if (inside) menu.querySelector("summary").focus();
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll(MENUS).forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

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
    form.querySelectorAll("input[data-held]").forEach(function (box) { box.disabled = false; delete box.dataset.held; });
    var q = form.querySelector("#q");
    if (q) q.value = new URLSearchParams(location.search).get("q") || "";
  }
  // One banner for a failed request, with the one action that can help.
  function addBanner(message, label, act) {
    var banner = document.createElement("div");
    banner.id = "request-error";
    banner.className = "banner banner-error request-error";
    banner.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = message + " ";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = label;
    act(button);
    banner.append(text, button);
    (document.getElementById("main") || document.body).prepend(banner);
    return banner;
  }
  function showBanner() {
    return document.getElementById("request-error") ||
      addBanner(FAILED, "Retry", function (button) { button.id = "request-retry"; });
  }
  function hideBanner() {
    var banner = document.getElementById("request-error");
    if (banner) banner.remove();
  }
  // A stale session (signed out and in again in another tab): retrying cannot work, so
  // the banner says what can (accounts.views.csrf_failure sets the header).
  var SESSION_CHANGED = "Your session changed since this page was loaded.";
  function sessionChanged() {
    hideBanner();
    addBanner(SESSION_CHANGED, "Reload the page", function (button) {
      button.addEventListener("click", function () { location.reload(); });
    });
  }
  function requestFailed(event) {
    var detail = event.detail;
    var elt = detail.elt;
    if (detail.xhr && detail.xhr.getResponseHeader("X-Session-Changed")) {
      lastFailure = null;
      sessionChanged();
      return;
    }
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

  // Focus survives a swap: on the same control in the new content (Load more, a compare
  // column's move, a shortlist button, a saved note), or on the first new card. htmx itself
  // refocuses an element with an id; these have none.
  var pendingFocus = null;
  // (Inside a closed <details> an element still has boxes in Chromium: ask checkVisibility.)
  function visible(el) { return el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0; }
  function focusables(root) {
    return Array.prototype.slice.call(root.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, summary"))
      .filter(visible);
  }
  function focusKey(el, target) {
    var parent = target.parentElement;
    return {
      el: el,
      tag: el.tagName,
      label: el.getAttribute("aria-label"),
      text: el.textContent.trim(),
      // Where the target was, to find what replaced it, and where the focus was inside it.
      parent: parent,
      slot: parent ? Array.prototype.indexOf.call(parent.children, target) : -1,
      id: target.id,
      position: focusables(target).indexOf(el),
    };
  }
  function findAgain(key) {
    var scope = (key.id && document.getElementById(key.id)) ||
      (key.parent && key.parent.isConnected && key.parent.children[key.slot]) || null;
    if (!scope) return null;
    var same = Array.prototype.slice.call(scope.querySelectorAll(key.tag)).filter(function (el) {
      return key.label ? el.getAttribute("aria-label") === key.label : el.textContent.trim() === key.text;
    })[0];
    if (same && !visible(same)) {  // e.g. the Save button of a note form that closed
      var details = same.closest("details");
      return details && details.querySelector("summary");
    }
    if (same) return same;
    if (key.label) {  // "Move X right" from the last-but-one column: now "Move X left"
      var stem = key.label.replace(/\S+$/, "");
      var sibling = Array.prototype.slice.call(scope.querySelectorAll("[aria-label]")).filter(function (el) {
        return el.getAttribute("aria-label").indexOf(stem) === 0 && visible(el);
      })[0];
      if (sibling) return sibling;
    }
    var all = focusables(scope);  // a button whose label changed ("+ List" is "✓ List" now)
    return all[key.position] || all[0] || null;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail.target;
    pendingFocus = null;
    if (!event.detail.shouldSwap || !active || active === document.body || !target || !target.contains(active) || active.id) return;
    pendingFocus = focusKey(active, target);
    if (target.id === "load-more") pendingFocus.firstNewCard = cards().length;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var key = pendingFocus;
    pendingFocus = null;
    if (!key || key.el.isConnected) return;
    var next;
    if (key.firstNewCard !== undefined) {
      var card = cards()[key.firstNewCard];
      next = card && card.querySelector(".card-title a");
      if (!next) next = document.querySelector("#load-more a, #load-more");
    } else {
      next = findAgain(key);
    }
    if (next) {
      if (!next.matches("a[href], button, input, select, textarea, summary")) next.tabIndex = -1;
      next.focus();
    }
  });

  // htmx cleans up every element it swaps out, firing two events on each (and reading its
  // ancestors for hx-ext on each): for the grid's 2,000 elements that was most of a facet
  // click's time in the browser. What that cleanup undoes, nothing in a data-cleanup=
  // "shallow" element has (no timer, no listener on another element: a test checks its
  // triggers), so its children go first and htmx cleans up the one element.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var elt = event.target;
    if (elt.dataset && elt.dataset.cleanup === "shallow") elt.replaceChildren();
  });

  // The result count is announced from one live region that stays in the page: a region
  // swapped in with the results is a new node, and screen readers often miss it. So is the
  // compare limit, once reached (the boxes it turns off say it too).
  function announceCount() {
    var count = document.getElementById("result-count");
    var status = document.getElementById("results-status");
    if (!count || !status) return;
    var full = document.querySelector(".tray-full");
    var text = count.textContent.replace(/\s+/g, " ").trim() + (full ? ". " + full.textContent.trim() : "");
    if (status.textContent !== text) status.textContent = text;
  }

  // On a phone the top bar slides away while the page scrolls down and comes back as soon as
  // it scrolls up (app.css, .topbar-tucked): the screen is for the models.
  function tuckTopbarWhileScrollingDown() {
    var bar = document.querySelector(".topbar");
    var lastY = window.scrollY;
    if (!bar) return;
    window.addEventListener("scroll", function () {
      var y = window.scrollY;
      if (Math.abs(y - lastY) < 6 && y > bar.offsetHeight) return;  // a finger's jitter
      bar.classList.toggle("topbar-tucked", phone.matches && y > lastY && y > bar.offsetHeight);
      lastY = y;
    }, { passive: true });
  }
  tuckTopbarWhileScrollingDown();

  document.addEventListener("DOMContentLoaded", function () { checkImages(document); applyRail(); });
  document.addEventListener("htmx:afterSettle", announceCount);
  document.addEventListener("htmx:afterSettle", function (event) { checkImages(event.target); applyRail(); revealResults(); });
})();
