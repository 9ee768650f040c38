var button = document.createElement("button"); button.textContent = "Re-mask";
button.className = "remask lmmask-button"; button.type = "button"; root.appendChild(button);
var counter = document.createElement("span"); counter.style.marginLeft = "8px"; root.appendChild(counter);
var chips = document.createElement("div"); chips.className = "chips lmmask-chips"; root.appendChild(chips);
var caption = document.createElement("div"); caption.className = "masking-caption lmmask-caption"; root.appendChild(caption);
var legend = document.createElement("div"); legend.className = "lmmask-legend"; root.appendChild(legend);
Object.keys(data.names).forEach(function (kind) {
  var s = document.createElement("span"); s.textContent = data.names[kind];
  s.style.background = data.colours[kind]; legend.appendChild(s);
});
var index = 0;
function draw() {
  var sample = data.samples[index];
  while (chips.firstChild) chips.removeChild(chips.firstChild);
  sample.shown.forEach(function (token, i) {
    var chip = document.createElement("div"); var kind = sample.kinds[i];
    chip.className = "lmmask-chip" + (kind ? " lmmask-counted" : "");
    chip.style.background = data.colours[kind];
    var top = document.createElement("div"); top.textContent = token; chip.appendChild(top);
    var bottom = document.createElement("div"); bottom.className = "lmmask-target";
    bottom.textContent = kind ? data.tokens[i] : "\u00a0"; chip.appendChild(bottom);
    chips.appendChild(chip);
  });
  counter.textContent = "masking " + (index + 1) + " of " + data.samples.length;
  caption.textContent = sample.caption;
}
button.addEventListener("click", function () { index = (index + 1) % data.samples.length; draw(); });
draw();
