(function () {
  // The same view may be displayed twice on one page (same data, same id): each script
  // takes the first element with its id that no script has claimed yet.
  var all = document.querySelectorAll('[id="__VIEW_ID__"]'), root = null;
  for (var i = 0; i < all.length; i++) {
    if (!all[i].hasAttribute("data-claimed")) { root = all[i]; break; }
  }
  if (!root) { return; }
  root.setAttribute("data-claimed", "1");
  var data = JSON.parse(document.getElementById("__VIEW_ID__-data").textContent);
  // The static picture is for pages without scripts: the live view replaces it.
  while (root.firstChild) { root.removeChild(root.firstChild); }
  (function (root, data) {
/*__SCRIPT__*/
  })(root, data);
})();
