// "Why this label" (chapter 10): class probabilities and gradient x input per token.
// data = {examples: [{text, tokens, scores, probabilities, labels, target}], note}
function el(tag, cls, text){var e=document.createElement(tag); if(cls){e.className=cls;}
  if(text!==undefined){e.textContent=text;} return e;}
function colour(score, scale){var a=Math.min(1, Math.abs(score)/scale);
  return score>=0 ? 'rgba(46,139,87,'+a.toFixed(3)+')' : 'rgba(200,50,50,'+a.toFixed(3)+')';}
var controls=el('div','why-controls'); var label=el('label','', 'sentence ');
var select=document.createElement('select'); select.setAttribute('aria-label','sentence');
data.examples.forEach(function(ex, i){var o=el('option','',ex.text); o.value=String(i); select.appendChild(o);});
label.appendChild(select); controls.appendChild(label); root.appendChild(controls);
var probs=el('div','why-probs'); var tokens=el('div','why-tokens');
root.appendChild(probs); root.appendChild(tokens); root.appendChild(el('div','why-note',data.note));
function render(){
  var ex=data.examples[Number(select.value)]; probs.textContent=''; tokens.textContent='';
  ex.labels.forEach(function(name, c){
    var row=el('div','why-prob'+(c===ex.target?' why-chosen':''));
    row.appendChild(el('span','why-class',name));
    var bar=el('span','why-bar'); bar.style.width=Math.round(200*ex.probabilities[c])+'px'; row.appendChild(bar);
    row.appendChild(el('span','why-value',ex.probabilities[c].toFixed(3))); probs.appendChild(row);});
  var scale=Math.max.apply(null, ex.scores.map(Math.abs).concat([1e-9]));
  ex.tokens.forEach(function(t, i){var s=el('span','why-token',t);
    s.style.background=colour(ex.scores[i], scale);
    s.title=(ex.scores[i]>=0?'+':'')+ex.scores[i].toFixed(3); tokens.appendChild(s);});
}
select.addEventListener('change', render); render();
