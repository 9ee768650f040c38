// The next-token view of chapter 11 (static version): data.tokens (the vocabulary as text),
// data.prompts [{text, logits}], and the same filters as lmcore.generate: temperature, then
// top-k (keep logits >= the k-th largest), then top-p (drop the longest tail of least likely
// tokens whose total probability is <= 1 - p; the most likely token always stays).
function el(tag, attrs, text){var e=document.createElement(tag);
  for(var k in (attrs||{})){e.setAttribute(k, attrs[k]);}
  if(text!==undefined){e.textContent=text;} return e;}
function softmax(z){var m=-Infinity,i;for(i=0;i<z.length;i++){if(z[i]>m){m=z[i];}}
  var e=new Array(z.length),s=0;
  for(i=0;i<z.length;i++){e[i]=(z[i]===-Infinity)?0:Math.exp(z[i]-m);s+=e[i];}
  for(i=0;i<z.length;i++){e[i]/=s;} return e;}
function filtered(logits, T, k, p){
  var z=logits.map(function(v){return v/T;});
  var order=z.map(function(_,i){return i;}).sort(function(a,b){return z[a]-z[b];});
  if(k<z.length){var kth=z[order[z.length-k]];
    for(var i=0;i<z.length;i++){if(z[i]<kth){z[i]=-Infinity;}}}
  if(p<1){var probs=softmax(z),cum=0;
    for(var j=0;j<order.length-1;j++){cum+=probs[order[j]];
      if(cum<=1-p){z[order[j]]=-Infinity;}}}
  return {before:softmax(logits.map(function(v){return v/T;})),after:softmax(z)};}
var controls=el('div',{'class':'lmnt-controls'}); root.appendChild(controls);
function slider(name,min,max,step,value){
  controls.appendChild(el('label',{},name));
  var s=el('input',{'type':'range','min':String(min),'max':String(max),'step':String(step),
    'value':String(value),'aria-label':name});
  controls.appendChild(s); var v=el('span',{'class':'lmnt-num'}); controls.appendChild(v);
  return {input:s,shown:v};}
controls.appendChild(el('label',{},'prompt'));
var select=el('select',{'aria-label':'prompt'});
data.prompts.forEach(function(pr,i){select.appendChild(el('option',{'value':String(i)},
  pr.text.length>40?pr.text.slice(0,40)+'\u2026':pr.text));});
controls.appendChild(select); controls.appendChild(el('span'));
var T=slider('temperature',0.1,2.0,0.05,data.defaults.temperature);
var K=slider('top-k',1,data.tokens.length,1,data.defaults.top_k);
var P=slider('top-p',0.05,1.0,0.01,data.defaults.top_p);
var prompt=el('div',{'class':'lmnt-prompt'}); root.appendChild(prompt);
var summary=el('div',{'class':'lmnt-summary'}); root.appendChild(summary);
var out=el('div'); root.appendChild(out);
root.appendChild(el('div',{'class':'lmnt-legend'},'grey: probability at this temperature; '+
  'blue: after top-k and top-p, renormalised (what sampling draws from)'));
function render(){
  var t=parseFloat(T.input.value),k=parseInt(K.input.value,10),p=parseFloat(P.input.value);
  T.shown.textContent=t.toFixed(2); K.shown.textContent=String(k);
  P.shown.textContent=p.toFixed(2);
  var pr=data.prompts[parseInt(select.value,10)];
  prompt.textContent=pr.text;
  var r=filtered(pr.logits,t,k,p),kept=0,mass=0;
  for(var i=0;i<r.after.length;i++){if(r.after[i]>0){kept++;mass+=r.before[i];}}
  summary.textContent=kept+' tokens survive, holding '+(100*mass).toFixed(1)+
    '% of the probability before renormalising';
  while(out.firstChild){out.removeChild(out.firstChild);}
  var order=r.before.map(function(_,i){return i;}).sort(function(a,b){
    return r.before[b]-r.before[a];}).slice(0,data.show);
  var top=r.after[order[0]]>r.before[order[0]]?r.after[order[0]]:r.before[order[0]];
  order.forEach(function(i){
    var row=el('div',{'class':'lmnt-row'+(r.after[i]>0?'':' lmnt-removed')});
    row.appendChild(el('span',{'class':'lmnt-tok'},JSON.stringify(data.tokens[i])));
    var bars=el('div',{'class':'lmnt-bars'});
    var b=el('div',{'class':'lmnt-before'}); b.style.width=(100*r.before[i]/top).toFixed(1)+'%';
    var a=el('div',{'class':'lmnt-after'}); a.style.width=(100*r.after[i]/top).toFixed(1)+'%';
    bars.appendChild(b); bars.appendChild(a); row.appendChild(bars);
    row.appendChild(el('span',{'class':'lmnt-num'},r.before[i].toFixed(3)+' \u2192 '+
      r.after[i].toFixed(3)));
    out.appendChild(row);});
  root.setAttribute('data-shown',[select.value,t,k,p,kept].join('|'));}
[select,T.input,K.input,P.input].forEach(function(c){c.addEventListener('input',render);
  c.addEventListener('change',render);});
render();
