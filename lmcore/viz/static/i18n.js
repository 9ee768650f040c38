/* The interface text of lmcore's views in the reader's language.

   The views are stored in the notebooks as HTML with inline scripts that write English
   interface text (buttons, labels, captions, hints, tooltips). A page whose <html lang="...">
   names a language of CATALOG (the book's Chinese edition loads this file) gets that text
   translated where the views write it, now and whenever a view redraws (a MutationObserver
   on each view), without re-running the notebooks. Tokens, words and numbers that come from
   the data are never touched: each rule names the elements (a CSS selector inside the view)
   and the exact text or pattern it translates, and a rule applies to the element's own text
   nodes (or to one attribute), so a token that happens to read "ids" in a token row stays.

   A rule: [selector, attribute or null, English text or RegExp, translation]. With a RegExp
   the translation may use $1, $2, ... Views are found by their root class (lmcore-<kind>).
   To add a language, add a catalog; to add a view, add its rules. */
(function () {
  "use strict";

  var CATALOG = {
    zh: {
      "lmcore-tokens": [
        [".lmtok-ids", null, "ids", "编号"],
        [".lmtok-count", null, /^\((\d+) tokens?\)$/, "（$1 个词元）"],
        [".lmtok-tok", "title", /^id (\d+)$/, "编号 $1"],
        ["textarea", "aria-label", "text to tokenize", "要分词的文本"],
        [".lmtok-note", null, "This text was not precomputed for the page: run the notebook " +
          "to see every tokenizer on it. Here are its UTF-8 bytes, the tokens of a " +
          "byte-level BPE before any merge:",
          "本页没有为这段文本预先计算结果：运行笔记本即可看到每个分词器对它的切分。" +
          "下面是它的 UTF-8 字节，也就是字节级 BPE 在任何合并之前的词元："]
      ],
      "lmcore-nn": [
        ["label", null, "word ", "词 "],
        ["label", null, "window ", "窗口 "],
        ["input", "aria-label", "word", "词"],
        ["select", "aria-label", "window", "窗口"],
        [".lmnn-weighting", "aria-label", "weighting", "加权方式"],
        [".lmnn-note", null,
          /^Not precomputed in this page: (.*)\. Run the notebook for any word\.(?: Try: (.*))?$/,
          function (m, word, close) {
            return "本页没有预先计算：" + word + "。运行笔记本可以查询任何词。" +
              (close ? "试试：" + close : "");
          }]
      ],
      "lmcore-nt": [
        ["label", null, "prompt", "提示"],
        ["label", null, "temperature", "温度"],
        ["select", "aria-label", "prompt", "提示"],
        ["input", "aria-label", "temperature", "温度"],
        [".lmnt-summary", null,
          /^(\d+) tokens survive, holding ([\d.]+)% of the probability before renormalising$/,
          "保留 $1 个词元，重新归一化之前它们占概率的 $2%"],
        [".lmnt-legend", null, "grey: probability at this temperature; blue: after top-k and " +
          "top-p, renormalised (what sampling draws from)",
          "灰色：该温度下的概率；蓝色：经过 top-k 和 top-p 筛选并重新归一化之后（采样所依据的分布）"]
      ],
      "lmcore-landscape": [
        [".lmls-name", null, "learning rate", "学习率"],
        [".lmls-name", null, "momentum", "动量"],
        ["input", "aria-label", "learning rate", "学习率"],
        ["input", "aria-label", "momentum", "动量"],
        [".lmls-caption", null, /^after (\d+) steps: loss ([^;]*); (.*)$/,
          function (m, steps, loss, rest) {
            rest = rest.replace(/^converges \(rate ([\d.]+)\)/, "收敛（速率 $1）")
              .replace(/^diverges \(rate ([\d.]+)\)/, "发散（速率 $1）")
              .replace(/^neither converges nor diverges \(rate 1\)/, "既不收敛也不发散（速率 1）")
              .replace(/\(edge /, "（边界 ").replace(/\)$/, "）");
            return steps + " 步之后：损失 " + loss + "；" + rest;
          }]
      ],
      "lmcore-masking": [
        ["button", null, "Re-mask", "重新遮盖"],
        ["*", null, /^masking (\d+) of (\d+)$/, "第 $1 次遮盖，共 $2 次"],
        [".lmmask-legend span", null, "random token", "随机词元"],
        [".lmmask-legend span", null, "unchanged", "保持不变"],
        [".lmmask-caption", null, /^(\d+) of (\d+) ordinary positions count in the loss \((\d+) \[MASK\], (\d+) random token, (\d+) unchanged\); \[CLS\] and \[SEP\] are never chosen\.$/,
          "$2 个普通位置中有 $1 个计入损失（$3 个 [MASK]，$4 个随机词元，$5 个保持不变）；[CLS] 和 [SEP] 永远不会被选中。"]
      ],
      "lmcore-attention": [
        ["*", null, "Hover over a token to see where it attends (left) or what attends to " +
          "it (right); click to pin.",
          "把鼠标悬停在一个词元上，查看它关注哪里（左）或哪些词元关注它（右）；点击可固定。"],
        ["*", null, "No head selected.", "没有选中任何注意力头。"],
        ["*", null, "Rows: queries (from), columns: keys (to); darker = more attention. " +
          "Click a thumbnail to enlarge it.",
          "行：查询（从），列：键（到）；颜色越深表示注意力越强。点击缩略图可放大。"],
        ["*", null, "causal: token t attends only to tokens 0..t",
          "因果掩码：词元 t 只关注词元 0..t"],
        ["*", null, /^sentence A: tokens 0\.\.(\d+), B \(purple\): (\d+)\.\.(\d+)$/,
          "句子 A：词元 0..$1，B（紫色）：$2..$3"],
        ["option", null, "all pairs", "所有词元对"],
        ["option, .lmav-note, .lmav-label", null, /^layer (\d+)$/, "第 $1 层"],
        [".lmav-label", null, "head", "注意力头"],
        ["select", "aria-label", "layer", "层"],
        [".lmav-title", null, /^layer (\d+), head (\d+)$/, "第 $1 层，第 $2 个头"],
        ["[title]", "title", /^layer (\d+), head (\d+)$/, "第 $1 层，第 $2 个头"],
        ["[title]", "title", /^head (\d+): click to switch on\/off, double-click to show only this head$/,
          "第 $1 个头：单击开关，双击只显示这个头"],
        ["[title]", "title", /^([\s\S]*)  \(position (\d+)\)$/, "$1  （位置 $2）"],
        ["button", null, "close", "关闭"],
        ["button", null, "all", "全部"],
        ["button", null, "none", "全不选"]
      ],
      "lmcore-why": [
        ["label", null, "sentence ", "句子 "],
        ["select", "aria-label", "sentence", "句子"],
        [".why-note", null, "Green tokens raised the score of the chosen class, red ones " +
          "lowered it (gradient x input); hover a token for its value.",
          "绿色词元提高了所选类别的得分，红色词元降低了它（梯度 × 输入）；把鼠标悬停在词元上可查看其数值。"]
      ]
    }
  };

  function catalogFor(lang) {
    lang = (lang || "").toLowerCase();
    for (var key in CATALOG) {
      if (lang === key || lang.indexOf(key + "-") === 0) return CATALOG[key];
    }
    return null;
  }

  function translated(value, pattern, replacement) {
    if (typeof pattern === "string") return value === pattern ? replacement : null;
    if (!pattern.test(value)) return null;
    return value.replace(pattern, replacement);
  }

  function applyRule(element, rule) {
    var attribute = rule[1], result;
    if (attribute) {
      var value = element.getAttribute(attribute);
      if (value === null) return;
      result = translated(value, rule[2], rule[3]);
      if (result !== null && result !== value) element.setAttribute(attribute, result);
      return;
    }
    for (var node = element.firstChild; node; node = node.nextSibling) {
      if (node.nodeType !== 3) continue;  // the element's own text only
      result = translated(node.data, rule[2], rule[3]);
      if (result !== null && result !== node.data) node.data = result;
    }
  }

  function translateView(root, rules) {
    rules.forEach(function (rule) {
      var elements = root.querySelectorAll(rule[0]);
      for (var i = 0; i < elements.length; i++) applyRule(elements[i], rule);
    });
  }

  function start() {
    var catalog = catalogFor(document.documentElement.getAttribute("lang"));
    if (!catalog) return;
    Object.keys(catalog).forEach(function (kind) {
      var roots = document.querySelectorAll("div." + kind);
      for (var i = 0; i < roots.length; i++) {
        (function (root, rules) {
          var pending = false;
          translateView(root, rules);
          // a view redraws on input: translate again once per burst of changes (translating
          // is idempotent, so the observer's own changes end the loop)
          new MutationObserver(function () {
            if (pending) return;
            pending = true;
            Promise.resolve().then(function () { pending = false; translateView(root, rules); });
          }).observe(root, {childList: true, subtree: true, characterData: true,
                            attributes: true, attributeFilter: ["title", "aria-label"]});
        })(roots[i], catalog[kind]);
      }
    });
  }

  window.lmcoreViewText = {catalog: CATALOG, translateView: translateView};
  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
