function el(tag, attrs, text){var e=document.createElement(tag);
  for(var k in (attrs||{})){e.setAttribute(k, attrs[k]);} if(text!==undefined){e.textContent=text;} return e;}
var showIds=false;
var bar=el('div',{'class':'lmtok-examples'});
var buttons=data.examples.map(function(example, i){
  var b=el('button',{'type':'button','class':'lmtok-button','data-example':String(i)}, example.label);
  b.addEventListener('click',function(){box.value=example.text; render();}); bar.appendChild(b); return b;});
var idsButton=el('button',{'type':'button','class':'lmtok-button lmtok-ids'},'ids');
idsButton.addEventListener('click',function(){showIds=!showIds; idsButton.className='lmtok-button lmtok-ids'+(showIds?' lmtok-on':''); render();});
bar.appendChild(idsButton);
root.appendChild(bar);
var box=el('textarea',{'rows':'2','aria-label':'text to tokenize','spellcheck':'false'});
box.value=data.examples[0].text; root.appendChild(box);
var out=el('div',{'class':'lmtok-rows'}); root.appendChild(out);
function drawRow(name, tokens){
  var title=el('div',{'class':'lmtok-name'},name+' ');
  title.appendChild(el('span',{'class':'lmtok-count'},'('+tokens.length+' tokens)')); out.appendChild(title);
  var row=el('div',{'class':'lmtok-row','data-tokenizer':name});
  tokens.forEach(function(t, i){
    var span=el('span',{'class':'lmtok-tok'+(t.kind?' lmtok-'+t.kind:''),'title':'id '+t.id}, showIds?String(t.id):t.text);
    if(!t.kind){span.style.background=data.colours[i%data.colours.length];}
    row.appendChild(span);});
  out.appendChild(row);}
function utf8Bytes(text){var bytes=new TextEncoder().encode(text), tokens=[];
  for(var i=0;i<bytes.length;i++){var h=bytes[i].toString(16); tokens.push({'text':'<'+(h.length<2?'0':'')+h+'>','id':bytes[i],'kind':''});}
  return tokens;}
function render(){
  while(out.firstChild){out.removeChild(out.firstChild);}
  var text=box.value, found=-1;
  for(var i=0;i<data.examples.length;i++){if(data.examples[i].text===text){found=i;}}
  buttons.forEach(function(b, i){b.className='lmtok-button'+(i===found?' lmtok-on':'');});
  if(found>=0){
    data.names.forEach(function(name){drawRow(name, data.examples[found].rows[name]);});
    root.setAttribute('data-shown','example-'+found);
  } else {
    out.appendChild(el('div',{'class':'lmtok-note'},'This text was not precomputed for the page: run the '+
      'notebook to see every tokenizer on it. Here are its UTF-8 bytes, the tokens of a byte-level BPE before any merge:'));
    drawRow(data.bytes_name, utf8Bytes(text));
    root.setAttribute('data-shown','bytes');
  }
}
box.addEventListener('input',render);
render();
