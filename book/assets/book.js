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
   tooltip button gives its focus up after a click, which hides its tooltip. */
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
      close.setAttribute("aria-label", "Close");
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

  onReady(function () {
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    addCloseButtons();
    dropTooltipsAfterClick();
  });
})();
