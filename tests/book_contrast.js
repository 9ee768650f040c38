// Contrast of the text of every shown control (links, buttons, summaries, form fields, the
// navigation), of printed outputs and of table cells against the background it is drawn on,
// as WCAG 2 defines it: relative luminance of sRGB colours, (L1 + 0.05) / (L2 + 0.05). Semi-transparent colours are
// composited over what lies under them (ancestor backgrounds, down to the page's).
// Used by tests/test_book_layout.py. Returns [{path, text, ratio, needed, color, background}].
() => {
  const parse = (value) => {
    const m = /rgba?\(([^)]*)\)/.exec(value || "");
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {  // top composited over an opaque bottom
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let base = [255, 255, 255, 1];
    if (layers.length && layers[layers.length - 1][3] >= 1) base = layers.pop();
    while (layers.length) base = over(layers.pop(), base);
    return base;
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  const inView = (el) => {
    for (let n = el; n; n = n.parentElement) {
      for (const name of n.classList || []) {
        if (name.startsWith("lmcore-") && name !== "lmcore-check") return true;
      }
    }
    return false;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    for (let n = el; n; n = n.parentElement) {
      const s = getComputedStyle(n);
      if (s.visibility === "hidden" || s.display === "none" || Number(s.opacity) === 0) return false;
    }
    return !el.closest("details:not([open]) > :not(summary)");
  };
  const describe = (el) => {
    const parts = [];
    for (let n = el; n && n !== document.body && parts.length < 3; n = n.parentElement) {
      parts.unshift(n.tagName.toLowerCase() + (n.classList.length ? "." + [...n.classList].slice(0, 2).join(".") : ""));
    }
    return parts.join(" > ");
  };
  const controls = document.querySelectorAll(
    "a, button, summary, select, input:not([type=hidden]), textarea, label, .nav-link, "
    + ".toctree-l1 > a, .caption-text, .prev-next-area p, "
    + ".cell_output pre, .cell_output td, .cell_output th, .bd-article td, .bd-article th");
  const results = [];
  controls.forEach((el) => {
    if (inView(el) || !shown(el)) return;
    const text = (el.innerText || el.value || "").trim();
    const style = getComputedStyle(el);
    // icon-only buttons are graphics: 3:1; large text (24px, or 18.66px bold): 3:1
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const needed = !text || large ? 3 : 4.5;
    const fg = parse(style.color);
    if (!fg) return;
    const bg = background(el);
    const color = fg[3] < 1 ? over(fg, bg) : fg;
    const value = ratio(color, bg);
    results.push({ path: describe(el), text: text.slice(0, 40), ratio: Math.round(value * 100) / 100,
                   needed, color: style.color, background: `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})` });
  });
  return results;
}
