// Measures, in the page it runs in, what a reader would see cut off or scrolling sideways.
// Used by tests/test_book_layout.py (page.evaluate). Returns
//   {column, pageOverflow, pageCulprits: [...], problems: [...]}
// An element "fits" when its box lies inside the text column, or inside a box that scrolls
// sideways (overflow-x auto/scroll) and itself fits. Its content is "cut off" when it is wider
// than the element (scrollWidth > clientWidth) and the element does not scroll.
() => {
  const column = document.querySelector(".bd-article") || document.body;
  const box = column.getBoundingClientRect();
  const style = getComputedStyle(column);
  const left = box.left + parseFloat(style.paddingLeft);
  const right = box.right - parseFloat(style.paddingRight);
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const clips = (el) => getComputedStyle(el).overflowX !== "visible";
  const viewRoot = (el) => {
    for (let n = el; n && n !== document.body; n = n.parentElement) {
      for (const name of n.classList || []) {
        if (name.startsWith("lmcore-") && name !== "lmcore-check") return name;
      }
    }
    return "";
  };
  const describe = (el) => {
    const parts = [];
    for (let n = el; n && n !== column && parts.length < 3; n = n.parentElement) {
      parts.unshift(n.tagName.toLowerCase() + (n.id ? "#" + n.id : "")
        + (n.classList.length ? "." + [...n.classList].slice(0, 2).join(".") : ""));
    }
    return parts.join(" > ");
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden"
      && !el.closest("details:not([open])");
  };
  const inside = (r) => r.left >= left - 1 && r.right <= right + 1;
  // the nearest ancestor (below the column) that scrolls sideways, or null
  const scroller = (el) => {
    for (let n = el.parentElement; n && n !== column; n = n.parentElement) {
      if (scrolls(n)) return n;
    }
    return null;
  };
  const problems = [];
  const check = (kind, el) => {
    if (!shown(el)) return;
    const r = el.getBoundingClientRect();
    const record = { kind, path: describe(el), view: viewRoot(el),
                     text: el.textContent.trim().slice(0, 60) };
    if (!inside(r)) {
      const s = scroller(el);
      if (!(s && inside(s.getBoundingClientRect()))) {
        problems.push({ ...record, problem: "wider than the column",
                        width: Math.round(r.width), column: Math.round(right - left) });
        return;
      }
    }
    if (el.scrollWidth > el.clientWidth + 1 && !scrolls(el)) {
      problems.push({ ...record, problem: "content cut off",
                      scrollWidth: el.scrollWidth, clientWidth: el.clientWidth });
    }
  };
  document.querySelectorAll(".bd-article div.math").forEach((el) => {
    check("display math", el);
    const number = el.querySelector(":scope > span.eqno");
    if (number && shown(el)) {
      const a = el.getBoundingClientRect(), b = number.getBoundingClientRect();
      if (b.width === 0 || b.left < a.left - 1 || b.right > a.right + 1 || b.right > right + 1) {
        problems.push({ kind: "display math", problem: "equation number hidden",
                        path: describe(el), view: "", text: number.textContent.trim() });
      }
    }
  });
  document.querySelectorAll(".bd-article div.math > mjx-container").forEach((el) => check("display math", el));
  document.querySelectorAll(".bd-article span.math").forEach((el) => check("inline math", el));
  document.querySelectorAll(".bd-article table").forEach((el) => check("table", el));
  document.querySelectorAll(".bd-article pre").forEach((el) => check("code or output", el));
  document.querySelectorAll(".bd-article code.literal").forEach((el) => check("inline code", el));
  document.querySelectorAll(".bd-article img").forEach((el) => check("image", el));
  // the interactive views: every element of a view (tests of the views' own layout)
  document.querySelectorAll(".bd-article [class*='lmcore-']").forEach((el) => {
    if (viewRoot(el)) check("view", el);
  });

  // what makes the page itself scroll sideways: shown elements reaching past the viewport
  // that no clipping ancestor hides (reported outermost first)
  const doc = document.documentElement;
  const width = doc.clientWidth;
  const culprits = [];
  if (doc.scrollWidth > width) {
    document.querySelectorAll("body *").forEach((el) => {
      if (!shown(el)) return;
      const r = el.getBoundingClientRect();
      if (r.right <= width + 1) return;
      for (let n = el.parentElement; n && n !== doc; n = n.parentElement) {
        if (clips(n)) return;
      }
      if (el.parentElement && el.parentElement.getBoundingClientRect().right > width + 1
          && el.parentElement !== document.body) return;  // its parent is reported already
      culprits.push({ path: describe(el), view: viewRoot(el), right: Math.round(r.right),
                      text: el.textContent.trim().slice(0, 60) });
    });
  }
  return { column: Math.round(right - left), pageOverflow: doc.scrollWidth - width,
           pageCulprits: culprits.slice(0, 10), problems };
}
