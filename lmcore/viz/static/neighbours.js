function el(tag, attrs, text){var e=document.createElement(tag);
  for(var k in (attrs||{})){e.setAttribute(k, attrs[k]);} if(text!==undefined){e.textContent=text;} return e;}
var controls=el('div',{'class':'lmnn-controls'});
var label=el('label',{},'word ');
var input=el('input',{'type':'text','list':root.id+'-words','value':data.words[0],'aria-label':'word'});
label.appendChild(input); controls.appendChild(label);
var list=el('datalist',{'id':root.id+'-words'});
data.words.forEach(function(w){list.appendChild(el('option',{'value':w}));});
controls.appendChild(list);
var wlabel=el('label',{},'window ');
var select=el('select',{'aria-label':'window'});
data.windows.forEach(function(w){var o=el('option',{'value':String(w)},'\u00b1'+w);
  if(w===data.default_window){o.selected=true;} select.appendChild(o);});
wlabel.appendChild(select); controls.appendChild(wlabel);
// The weighting is a pair of toggle buttons: the pressed one is filled, in light and dark mode.
var group=el('span',{'class':'lmnn-weighting','role':'group','aria-label':'weighting'});
var current=data.default_weighting, choices=[];
data.weightings.forEach(function(name){
  var b=el('button',{'type':'button','class':'lmnn-choice','data-weighting':name},name);
  b.addEventListener('click',function(){current=name; paint(); render();});
  choices.push(b); group.appendChild(b);});
function paint(){choices.forEach(function(b){
  b.setAttribute('aria-pressed', b.getAttribute('data-weighting')===current?'true':'false');});}
paint(); controls.appendChild(group);
root.appendChild(controls);
var out=el('div',{'class':'lmnn-neighbours'}); root.appendChild(out);
function render(){
  while(out.firstChild){out.removeChild(out.firstChild);}
  var word=input.value.trim().toLowerCase();
  var table=data.neighbours[word];
  if(!table){
    var close=data.words.filter(function(w){return w.indexOf(word.slice(0,2))===0;}).slice(0,8);
    out.appendChild(el('div',{'class':'lmnn-note'}, 'Not precomputed in this page: '+JSON.stringify(word)+
      '. Run the notebook for any word.'+(close.length?' Try: '+close.join(', '):'')));
    root.setAttribute('data-shown', '');
    return;}
  var rows=table[select.value][current];
  var top=rows.length?Math.max(rows[0][1],1e-9):1;
  rows.forEach(function(pair){
    var row=el('div',{'class':'lmnn-row'});
    row.appendChild(el('span',{'class':'lmnn-word','title':pair[0]},pair[0]));
    var track=el('div',{'class':'lmnn-track'}), bar=el('div',{'class':'lmnn-bar'});
    bar.style.width=Math.max(1,Math.round(100*pair[1]/top))+'%';
    track.appendChild(bar); row.appendChild(track);
    row.appendChild(el('span',{'class':'lmnn-value'},pair[1].toFixed(3)));
    out.appendChild(row);});
  root.setAttribute('data-shown', word+'|'+select.value+'|'+current);
}
input.addEventListener('input',render); select.addEventListener('change',render);
render();
