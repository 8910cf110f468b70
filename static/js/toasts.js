/* Popups: one per group of notifications (one action), updated in place.
 *
 * `fitnessToasts.create(container, {markRead})` returns `{show, open, closeAll}`.
 * `show(group, ms)` draws or updates the popup of a group, `{key, members}`
 * with its members in id order, silent ones included: it lists each member
 * that is not silent (title and message, the first on top) and carries the
 * first one's `data-notification-id`; a click opens the first one's `url`
 * and marks every member read with one `markRead(ids, done)`.
 *
 * Calm on a small screen: where popups span the screen's width (phones) they
 * never cover more than 40 % of the visible height, and elsewhere never more
 * than fits; older ones fold into a "+N more" line that opens the inbox. A new
 * popup waits a moment before it enters the polite live region, so the
 * notifications of one action, which leave the server together, are read
 * out once, as one popup.
 */
(function () {
  "use strict";

  var TOAST_MS = 6000;
  var MAX_TOASTS = 5;
  var SETTLE_MS = 150;
  var SHARE = 0.4;
  var FINISHED_KEPT = 200;
  // Where popups span the screen's width, as app.css lays them out below 48rem.
  var narrow = window.matchMedia("(max-width: 47.99rem)");

  /* Only local paths are followed: a payload can never send the page elsewhere. */
  function localUrl(n) {
    var url = n && typeof n.url === "string" ? n.url : "";
    return url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : "/notifications/";
  }

  function listed(group) {
    return group.members.filter(function (m) { return !m.silent; });
  }

  function create(container, options) {
    var markRead = options.markRead;
    var popups = new Map();  // group key -> its toast element
    var finished = [];  // keys of groups whose popup has closed: not shown again
    var returnFocus = null;
    var more = document.createElement("div");
    more.className = "toast-more";
    more.hidden = true;
    var moreLink = document.createElement("a");
    moreLink.href = "/notifications/";
    more.append(moreLink);
    container.prepend(more);

    function close(toast) {
      if (!toast.isConnected && !toast._pending) return;
      clearTimeout(toast._timer);
      clearTimeout(toast._pending);
      toast._pending = null;
      toast.remove();
      popups.delete(toast._group.key);
      finished.push(toast._group.key);
      if (finished.length > FINISHED_KEPT) finished.shift();
      fold();
    }

    function arm(toast, ms) {
      clearTimeout(toast._timer);
      toast._expires = Date.now() + ms;
      toast._timer = setTimeout(function () { close(toast); }, ms);
    }

    function item(n) {
      var entry = document.createElement("span");
      entry.className = "toast-item";
      entry.dataset.notificationId = String(n.id);
      var title = document.createElement("strong");
      title.className = "toast-title";
      title.textContent = n.title || "";
      var message = document.createElement("span");
      message.className = "toast-message";
      message.textContent = n.message || "";
      entry.append(title, " ", message);
      return entry;
    }

    function timeElement(n) {
      var time = document.createElement("time");
      time.className = "toast-time";
      time.setAttribute("datetime", n.created_at || new Date().toISOString());
      time.setAttribute("data-relative", "");
      if (window.fitnessTime) window.fitnessTime.humanize(time, Date.now());
      return time;
    }

    /* The members' ids, silent ones included: a click reads the whole group. */
    function ids(toast) {
      return toast._group.members.map(function (m) { return m.id; });
    }

    function build(group) {
      var toast = document.createElement("div");
      var link = document.createElement("a");
      link.className = "toast-link";
      link.setAttribute("aria-keyshortcuts", "Alt+N");
      var items = document.createElement("span");
      items.className = "toast-items";
      link.append(items);
      link.addEventListener("click", function (event) {
        var all = ids(toast);
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
          markRead(all);
          return;
        }
        event.preventDefault();
        close(toast);
        markRead(all, function () { window.location.assign(link.href); });
      });

      var button = document.createElement("button");
      button.type = "button";
      button.className = "toast-close";
      button.setAttribute("aria-label", "Close notification");
      button.textContent = "×";
      button.addEventListener("click", function (event) {
        event.stopPropagation();
        close(toast);
      });

      toast.append(link, button);
      toast._group = group;
      toast._link = link;
      toast._items = items;
      // A click on the popup's padding counts as a click on its link.
      toast.addEventListener("click", function (event) {
        if (event.target === toast) link.click();
      });
      // Hovering or focusing holds the popup open so it can be read.
      toast.addEventListener("mouseenter", function () { clearTimeout(toast._timer); });
      toast.addEventListener("mouseleave", function () { arm(toast, TOAST_MS); });
      toast.addEventListener("focusin", function () { clearTimeout(toast._timer); });
      toast.addEventListener("focusout", function () { arm(toast, TOAST_MS); });
      return toast;
    }

    /* Bring the popup up to date: new members go in at their place, in id order. */
    function render(toast) {
      var shown = listed(toast._group);
      var first = shown[0];
      toast.className = "toast toast-" + String(first.kind || "info").replace(/[^a-z_]/g, "") +
        (shown.length > 1 ? " toast-group" : "");
      toast.dataset.notificationId = String(first.id);
      toast._link.href = localUrl(first);
      var present = toast._items.children;
      shown.forEach(function (n, index) {
        var at = present[index];
        if (at && at.dataset.notificationId === String(n.id)) return;
        toast._items.insertBefore(item(n), at || null);
      });
      var time = toast._link.querySelector(".toast-time");
      if (!time || time.getAttribute("datetime") !== (first.created_at || "")) {
        if (time) time.remove();
        toast._link.append(timeElement(first));
      }
    }

    function enter(toast, ms) {
      toast._pending = null;
      container.append(toast);
      var open = container.querySelectorAll(".toast");
      for (var i = 0; i < open.length - MAX_TOASTS; i++) close(open[i]);
      arm(toast, ms || TOAST_MS);
      fold();
    }

    /* Draw or update the popup of `group`; `ms` (a popup carried from the last
     * page) enters at once and closes after that long. */
    function show(group, ms) {
      if (!listed(group).length || finished.indexOf(group.key) !== -1) return;
      var toast = popups.get(group.key);
      if (!toast) {
        toast = build(group);
        popups.set(group.key, toast);
        render(toast);
        if (ms) {
          enter(toast, ms);
        } else {
          toast._pending = setTimeout(function () { enter(toast); }, SETTLE_MS);
        }
        return;
      }
      toast._group = group;
      render(toast);
      if (toast.isConnected) {
        if (!toast.matches(":hover, :focus-within")) arm(toast, TOAST_MS);
        fold();
      }
    }

    /* How tall the popups may stand: SHARE of the visible height where they span
     * the screen's width (phones), all of it where they sit in a corner. */
    function budgetFor() {
      var viewport = window.visualViewport;
      var height = viewport ? viewport.height : window.innerHeight;
      if (narrow.matches) return SHARE * height;
      var style = getComputedStyle(container);
      return height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    }

    /* Keep the popups within their budget: the newest stay, older ones hide
     * behind "+N more", and a single popup taller than that is cut short (its
     * whole text stays in the link a screen reader reads). */
    function fold() {
      var toasts = Array.prototype.slice.call(container.querySelectorAll(".toast"));
      toasts.forEach(function (t) {
        t.hidden = false;
        t._items.style.maxHeight = "";
        t.classList.remove("toast-clamped");
      });
      more.hidden = true;
      if (!toasts.length) return;
      var gap = parseFloat(getComputedStyle(container).rowGap) || 0;
      var budget = budgetFor();
      var span = toasts.reduce(function (sum, t) { return sum + t.offsetHeight + gap; }, -gap);
      if (span <= budget) return;
      more.hidden = false;
      budget -= more.offsetHeight + gap;
      var kept = 0;
      var used = -gap;
      for (var i = toasts.length - 1; i >= 0; i--) {
        var next = used + gap + toasts[i].offsetHeight;
        if (kept > 0 && next > budget) break;
        used = next;
        kept += 1;
      }
      var folded = toasts.length - kept;
      toasts.slice(0, folded).forEach(function (t) { t.hidden = true; });
      if (folded === 0) {
        budget += more.offsetHeight + gap;
        more.hidden = true;
      } else if (moreLink.dataset.count !== String(folded)) {
        moreLink.dataset.count = String(folded);
        var where = document.createElement("span");
        where.className = "visually-hidden";
        where.textContent = folded === 1 ? " notification in the inbox" : " notifications in the inbox";
        moreLink.replaceChildren("+" + folded + " more", where);
      }
      var newest = toasts[toasts.length - 1];
      if (newest.offsetHeight > budget) {
        var over = newest.offsetHeight - budget;
        newest._items.style.maxHeight = Math.max(newest._items.offsetHeight - over, 0) + "px";
        newest.classList.add("toast-clamped");
      }
    }

    /* The groups still on screen (folded ones, and ones about to enter, too) and
     * how long each has left. */
    function open() {
      return Array.from(popups.values(), function (t) {
        var left = t._pending ? TOAST_MS : t._expires - Date.now();
        return { group: t._group, left: Math.max(left, 1500) };
      });
    }

    // Alt+N moves the focus to the newest popup, so a keyboard can reach it at once.
    document.addEventListener("keydown", function (event) {
      var visible = container.querySelectorAll(".toast:not([hidden])");
      if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyN") {
        if (visible.length) {
          event.preventDefault();
          if (!container.contains(document.activeElement)) returnFocus = document.activeElement;
          visible[visible.length - 1].querySelector(".toast-link").focus();
        }
        return;
      }
      if (event.key !== "Escape" || !visible.length) return;
      var focused = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest(".toast") : null;
      close(focused || visible[visible.length - 1]);
      if (focused) (returnFocus && returnFocus.isConnected ? returnFocus : document.getElementById("main")).focus();
    });

    // The popup layer covers exactly the visible part of the screen, so popups stay
    // in view when a phone zooms in or its keyboard takes the lower half.
    var viewport = window.visualViewport;
    function fitViewport() {
      container.style.left = viewport.offsetLeft + "px";
      container.style.top = viewport.offsetTop + "px";
      container.style.width = viewport.width + "px";
      container.style.height = viewport.height + "px";
    }
    narrow.addEventListener("change", fold);
    if (viewport) {
      viewport.addEventListener("resize", function () { fitViewport(); fold(); });
      viewport.addEventListener("scroll", fitViewport);
      fitViewport();
    } else {
      window.addEventListener("resize", fold);
    }

    return { show: show, open: open };
  }

  window.fitnessToasts = { create: create, localUrl: localUrl, listed: listed };
})();
