/* The book's own behaviour, loaded on every page (no network, no dependencies).

   Phone navigation. The theme (sphinx-book-theme 1.3 on pydata-sphinx-theme 0.17) draws two
   "Site navigation" and two "On this page" buttons: one pair in the top bar, hidden at every
   width, and the visible pair in the article header. Its handlers attach with
   querySelector, i.e. to the first, hidden, button only: the visible buttons did nothing.
   Here every visible toggle forwards its click to the button that has the theme's handlers,
   so the theme's own behaviour runs: on a wide screen the primary toggle collapses the
   sidebar, on a narrow one it opens the sidebar as a dialog (closed by Escape, a tap on the
   backdrop or the close button added here).

   Tooltips. Bootstrap shows a button's tooltip on focus; after a tap on a touch screen the
   button keeps focus and the tooltip stays, covering the search button next to it. Every
   tooltip button gives its focus up after a click, which hides its tooltip.

   Display math. MathJax 3 does not break lines. A formula a little wider than its box is
   drawn smaller to fit, if 80 % of its size or more is enough (measured after MathJax has typeset the page, again when the
   window is resized); a longer formula keeps its size and scrolls inside its own box (book.css),
   with its equation number always visible beside it.

   Figures. A figure drawn wider than the column is scaled down to fit it (on a phone a
   five-panel figure becomes very small). A click or tap on a figure that is shown smaller
   than its real size opens it at full size in a dialog that scrolls; a click, a tap or
   Escape closes it. */
(function () {
  "use strict";

  function onReady(callback) {
    if (document.readyState !== "loading") callback();
    else document.addEventListener("DOMContentLoaded", callback);
  }

  function forwardToggles(selector) {
    var buttons = Array.prototype.slice.call(document.querySelectorAll(selector));
    if (buttons.length < 2) return;
    var owner = buttons[0];  // the one the theme's handlers are attached to
    buttons.slice(1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        button.blur();
        owner.click();
      });
    });
  }

  function addCloseButtons() {
    ["pst-primary-sidebar-modal", "pst-secondary-sidebar-modal"].forEach(function (id) {
      var dialog = document.getElementById(id);
      if (!dialog || dialog.querySelector(".book-dialog-close")) return;
      var close = document.createElement("button");
      close.type = "button";
      close.className = "book-dialog-close";
      close.setAttribute("aria-label",
        /^zh/i.test(document.documentElement.lang) ? "\u5173\u95ed" : "Close");
      close.textContent = "\u00d7";
      close.addEventListener("click", function () { dialog.close(); });
      // the theme moves the sidebar's children in and out of the dialog; this button is
      // re-added after each move so it is always the dialog's first child
      dialog.addEventListener("close", function () {
        if (close.parentNode) close.parentNode.removeChild(close);
      });
      var observer = new MutationObserver(function () {
        if (dialog.open && dialog.firstChild !== close) dialog.insertBefore(close, dialog.firstChild);
      });
      observer.observe(dialog, { attributes: true, attributeFilter: ["open"] });
    });
  }

  function dropTooltipsAfterClick() {
    document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (button) {
      button.addEventListener("click", function () {
        button.blur();
        var tooltip = window.bootstrap && window.bootstrap.Tooltip
          && window.bootstrap.Tooltip.getInstance && window.bootstrap.Tooltip.getInstance(button);
        if (tooltip) tooltip.hide();
      });
    });
  }

  var SMALLEST = 0.8;

  function fitDisplayMath() {
    document.querySelectorAll("div.math > mjx-container > mjx-math").forEach(function (math) {
      var box = math.parentNode;
      math.style.fontSize = "";
      var wanted = box.scrollWidth, room = box.clientWidth;
      // shrink only if the whole formula then fits; otherwise it keeps its size and scrolls
      var scale = room / wanted - 0.005;
      if (wanted > room + 1 && room > 0 && scale >= SMALLEST) {
        math.style.fontSize = (100 * scale).toFixed(1) + "%";
      }
    });
  }

  function whenMathJaxIsDone(callback) {
    var tries = 0;
    var timer = setInterval(function () {
      var mj = window.MathJax;
      if (mj && mj.startup && mj.startup.promise) {
        clearInterval(timer);
        mj.startup.promise.then(callback);
      } else if (++tries > 300) {
        clearInterval(timer);  // no MathJax on this page
      }
    }, 100);
  }

  function zoomableFigures() {
    var dialog = null;
    document.querySelectorAll(".bd-article .cell_output img").forEach(function (img) {
      img.addEventListener("click", function () {
        if (img.naturalWidth <= img.clientWidth + 1) return;  // already at full size
        if (!dialog) {
          dialog = document.createElement("dialog");
          dialog.className = "book-figure-zoom";
          dialog.addEventListener("click", function () { dialog.close(); });
          document.body.appendChild(dialog);
        }
        dialog.textContent = "";
        var large = document.createElement("img");
        large.src = img.src;
        large.alt = img.alt;
        dialog.appendChild(large);
        dialog.showModal();
      });
      img.addEventListener("mouseenter", function () {
        img.classList.toggle("book-zoomable", img.naturalWidth > img.clientWidth + 1);
      });
    });
  }

  onReady(function () {
    zoomableFigures();
    if (document.querySelector("div.math")) {
      whenMathJaxIsDone(fitDisplayMath);
      var pending = null;
      window.addEventListener("resize", function () {
        clearTimeout(pending);
        pending = setTimeout(fitDisplayMath, 150);
      });
    }
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    addCloseButtons();
    dropTooltipsAfterClick();
  });
})();
