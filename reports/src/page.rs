//! The HTML shell every report shares: the Content-Security-Policy that forbids any network
//! access, the inline CSS, and the small inline script (tooltips, legend toggles, and the
//! `data-rendered` / `data-charts` / `data-load-ms` / `data-errors` marks the browser test reads).
//! Everything is inline; the page is complete and readable with scripts off.

use crate::format::esc;

/// The Content-Security-Policy of every report: nothing is loaded from anywhere.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;background:#fff}
header.top{background:#1f3a5f;color:#fff;padding:18px 28px}
header.top h1{margin:0 0 4px;font-size:22px}
header.top p{margin:2px 0;color:#d6e2f0}
main{padding:8px 28px 40px;max-width:1400px}
h2{margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #e3e7ee;font-size:18px}
h3{margin:18px 0 6px;font-size:15px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #d9dee6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{width:170px}
.badge{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:700;color:#fff}
.PASS,.VALID{background:#2e7d32}.FAIL,.INVALID{background:#c62828}.UNKNOWN{background:#8d6e00}
.overall{font-size:20px;padding:4px 14px}
.muted{color:#667}
.caption{margin:2px 0 0;color:#556;font-size:12px}
figure.chart-box{margin:10px 0 18px;background:#fff}
figure.chart-box figcaption{font-weight:600;margin-bottom:2px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:6px 18px}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
ul.examples{margin:4px 0;padding-left:18px}
.tip{position:absolute;display:none;pointer-events:none;background:rgba(20,28,40,.92);color:#fff;padding:5px 8px;border-radius:4px;font:12px/1.35 ui-monospace,monospace;white-space:pre;z-index:10}
footer{margin-top:30px;color:#778;font-size:12px}
.delta-worse{color:#c62828;font-weight:600}.delta-better{color:#2e7d32;font-weight:600}
"#;

const SCRIPT: &str = r#"
(function(){
  var body=document.body;
  window.onerror=function(msg,src,line){
    body.dataset.errors=(body.dataset.errors?body.dataset.errors+' | ':'')+msg+' (line '+line+')';
  };
  function fmtX(kind,x){
    if(kind==='p'){var q=(1-Math.pow(10,-x))*100;return 'p'+(+q.toFixed(4));}
    if(kind==='r'){return x+'/s';}
    return 'second '+Math.floor(x);
  }
  function wire(svg,d,tip){
    var hidden={};
    svg.querySelectorAll('.legend-item').forEach(function(item){
      item.style.cursor='pointer';
      item.addEventListener('click',function(){
        var s=item.getAttribute('data-s');hidden[s]=!hidden[s];
        svg.querySelectorAll('g.series[data-s="'+s+'"]').forEach(function(g){g.style.display=hidden[s]?'none':'';});
        item.style.opacity=hidden[s]?0.35:1;
      });
    });
    var hover=svg.querySelector('rect.hover'),cursor=svg.querySelector('line.cursor');
    if(!hover||!d){return;}
    var m=d.map;
    hover.addEventListener('mousemove',function(ev){
      var pt=svg.createSVGPoint();pt.x=ev.clientX;pt.y=ev.clientY;
      var p=pt.matrixTransform(svg.getScreenCTM().inverse());
      var x=m[0]+(p.x-m[2])/(m[3]-m[2])*(m[1]-m[0]);
      var at=null,lines=[];
      d.s.forEach(function(s,i){
        if(hidden[i]){return;}
        var xs=s.x||d.x,best=-1,bd=Infinity;
        for(var k=0;k<xs.length;k++){var dd=Math.abs(xs[k]-x);if(dd<bd&&s.v[k]!==null){bd=dd;best=k;}}
        if(best<0){return;}
        if(at===null){at=xs[best];}
        lines.push(s.n+': '+s.v[best]+(d.u?' '+d.u:''));
      });
      if(at===null){tip.style.display='none';return;}
      var cx=m[2]+(at-m[0])/(m[1]-m[0])*(m[3]-m[2]);
      cursor.setAttribute('x1',cx);cursor.setAttribute('x2',cx);cursor.setAttribute('visibility','visible');
      tip.textContent=fmtX(d.xk,at)+'\n'+lines.join('\n');
      tip.style.display='block';tip.style.left=(ev.pageX+14)+'px';tip.style.top=(ev.pageY+14)+'px';
    });
    hover.addEventListener('mouseleave',function(){tip.style.display='none';cursor.setAttribute('visibility','hidden');});
  }
  // With #selftest in the URL: hover the first chart and toggle its first series, and record
  // what happened (data-tooltip, data-toggled) for the browser test.
  function selftest(tip){
    var svg=document.querySelector('svg.chart');if(!svg){return;}
    var hover=svg.querySelector('rect.hover'),box=hover.getBoundingClientRect();
    hover.dispatchEvent(new MouseEvent('mousemove',{clientX:box.left+box.width/2,clientY:box.top+box.height/2,bubbles:true}));
    body.dataset.tooltip=tip.textContent.replace(/\n/g,' | ');
    var item=svg.querySelector('.legend-item');
    if(item){
      item.dispatchEvent(new MouseEvent('click',{bubbles:true}));
      var g=svg.querySelector('g.series[data-s="'+item.getAttribute('data-s')+'"]');
      body.dataset.toggled=String(g.style.display==='none');
    }
  }
  function init(){
    var tip=document.createElement('div');tip.className='tip';body.appendChild(tip);
    var data={};
    document.querySelectorAll('script.chart-data').forEach(function(s){data[s.getAttribute('data-for')]=JSON.parse(s.textContent);});
    var charts=document.querySelectorAll('svg.chart');
    charts.forEach(function(svg){wire(svg,data[svg.id],tip);});
    body.dataset.charts=String(charts.length);
    if(location.hash==='#selftest'){selftest(tip);}
    body.dataset.loadMs=performance.now().toFixed(1);
    body.dataset.rendered='ok';
  }
  window.addEventListener('load',function(){
    try{init();}catch(e){body.dataset.errors=(body.dataset.errors?body.dataset.errors+' | ':'')+e;}
  });
})();
"#;

/// A whole page: `header` is the top banner's inner HTML, `main` the report.
pub fn document(title: &str, header: &str, main: &str) -> String {
    let mut out = String::with_capacity(main.len() + CSS.len() + SCRIPT.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str(&format!(
        "<title>{}</title><style>{CSS}</style></head>\n<body>",
        esc(title)
    ));
    out.push_str(&format!(
        "<header class=\"top\">{header}</header>\n<main>{main}"
    ));
    out.push_str(&format!(
        "<footer>Rendered by Stampede reports {} at {}. Self-contained: no network access. With scripts on, hover a chart for values and click a legend entry to hide its line.</footer>",
        env!("CARGO_PKG_VERSION"),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    out.push_str(&format!(
        "</main>\n<script>{SCRIPT}</script>\n</body></html>\n"
    ));
    out
}

/// A PASS/FAIL/VALID/... badge.
pub fn badge(label: &str) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", esc(label))
}
