/* The admin's pages for people and its JSON: /, /api/state, /connections.
 *
 * The page is one document with its script inline and no external asset
 * (an operator's machine may have no internet).  Each listener's diagram
 * is the SVG graphviz drew from pfgen's .dot at build time, registered by
 * the program (pf_admin_diagrams); the script finds the SVG's edges by
 * their <title> ("FROM->TO") and label ("EVENT / handler"), and colours
 * and thickens them by the counts /api/state reports, and the states by
 * how many sessions sit in them.  Without a diagram the page still shows
 * the transition table. */
#include <inttypes.h>
#include <string.h>

#include "admin_impl.h"
#include "protofsm/stats.h"

/* Default-row and no-row hits: the events the machine refused. */
static uint64_t refused(const pf_fsm *m, const pf_fsm_stats *st)
{
    uint64_t n = 0;

    for (uint16_t q = 0; q < m->nstates; q++)
        for (uint16_t e = PF_EV__BUILTIN; e < m->nevents; e++) {
            const pf_fsm_cell *c = &m->table[(size_t)q * m->nevents + e];
            if (c->next == PF_FSM_NOROW || (c->flags & PF_FSM_CELL_DEFAULT))
                n += pf_fsm_stats_get(st, m, q, e);
        }
    return n;
}

static void listener_json(pf_server *srv, unsigned i, const pf__admin_snap *snap, pf__sb *b)
{
    const pf_fsm *m = pf_server_fsm(srv, i);
    const pf_fsm_stats *st = pf_server_fsm_stats(srv, i);
    char addr[300];
    uint64_t opened = 0, closed = 0, packets = 0;

    if (pf_server_address(srv, i, addr, sizeof(addr)) < 0)
        addr[0] = 0;
    for (uint16_t q = 0; q < m->nstates; q++)
        closed += pf_fsm_stats_get(st, m, q, PF_EV_CLOSE);
    for (uint16_t q = 0; q < m->nstates; q++) {
        opened += pf_fsm_stats_get(st, m, q, PF_EV_OPEN);
        for (uint16_t e = PF_EV__BUILTIN; e < m->nevents; e++)
            packets += pf_fsm_stats_get(st, m, q, e);
    }
    pf__sb_str(b, "{\"address\":");
    pf__sb_json(b, addr);
    pf__sb_str(b, ",\"machine\":");
    pf__sb_json(b, m->name);
    pf__sb_printf(b, ",\"kind\":\"%s\",\"open\":%" PRIu64 ",\"opened\":%" PRIu64
                     ",\"packets\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"diagram\":%s",
                  m->kind == PF_FSM_TRANSITION ? "transition" : "dispatch",
                  opened > closed ? opened - closed : 0, opened, packets, refused(m, st),
                  pf__admin_diagram(m->name) ? "true" : "false");
    /* Handler latency summed over the handlers: the page takes quantiles
     * of what changed between two polls. */
    pf_latency all = { 0, 0, { 0 } };
    for (uint16_t h = 1; h < m->nhandlers; h++) {
        pf_latency l;
        if (pf_server_latency(srv, i, h, &l) < 0)
            continue;
        all.count += l.count;
        for (unsigned k = 0; k < PF_LATENCY_BUCKETS; k++)
            all.le[k] += l.le[k];
    }
    pf__sb_printf(b, ",\"latency\":{\"count\":%" PRIu64 ",\"bounds_us\":[", all.count);
    for (unsigned k = 0; k < PF_LATENCY_BUCKETS; k++)
        pf__sb_printf(b, "%s%" PRIu32, k ? "," : "", pf_latency_bounds_us[k]);
    pf__sb_str(b, "],\"le\":[");
    for (unsigned k = 0; k < PF_LATENCY_BUCKETS; k++)
        pf__sb_printf(b, "%s%" PRIu64, k ? "," : "", all.le[k]);
    pf__sb_str(b, "]}");
    pf__sb_str(b, ",\"states\":[");
    for (uint16_t q = 0; q < m->nstates; q++) {
        pf__sb_str(b, q ? "," : "");
        pf__sb_json(b, pf_fsm_state_name(m, q));
    }
    pf__sb_str(b, "],\"occupancy\":");
    if (snap) {
        pf__sb_str(b, "[");
        for (uint16_t q = 0; q < m->nstates; q++)
            pf__sb_printf(b, "%s%u", q ? "," : "", snap->occ[snap->off[i] + q]);
        pf__sb_printf(b, "],\"busy\":%u", snap->busy[i]);
    } else {
        pf__sb_str(b, "null,\"busy\":null");
    }
    pf__sb_str(b, ",\"cells\":[");
    int first = 1;
    for (uint16_t q = 0; q < m->nstates; q++)
        for (uint16_t e = 0; e < m->nevents; e++) {
            const pf_fsm_cell *c = &m->table[(size_t)q * m->nevents + e];
            uint64_t n = pf_fsm_stats_get(st, m, q, e);
            if (c->next == PF_FSM_NOROW && !n)
                continue;
            pf__sb_str(b, first ? "{\"from\":" : ",{\"from\":");
            first = 0;
            pf__sb_json(b, pf_fsm_state_name(m, q));
            pf__sb_str(b, ",\"event\":");
            pf__sb_json(b, pf_fsm_event_name(m, e));
            pf__sb_str(b, ",\"to\":");
            if (c->next == PF_FSM_NOROW)
                pf__sb_str(b, "null");
            else
                pf__sb_json(b, pf_fsm_state_name(m, c->next));
            pf__sb_printf(b, ",\"wild\":%s,\"default\":%s,\"count\":%" PRIu64 "}",
                          c->flags & PF_FSM_CELL_WILD ? "true" : "false",
                          c->flags & PF_FSM_CELL_DEFAULT ? "true" : "false", n);
        }
    pf__sb_str(b, "]}");
}

void pf__admin_render_state(pf_server *srv, const pf__admin_snap *snap, pf__sb *b)
{
    pf_server_stats s;

    pf_server_stats_get(srv, &s);
    pf__sb_printf(b, "{\"server\":{\"connections\":%" PRIu64 ",\"packets\":%" PRIu64
                     ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
                     ",\"queue_depth\":%" PRIu64 ",\"queue_capacity\":%" PRIu64
                     ",\"workers\":%" PRIu64 ",\"protocol_errors\":%" PRIu64
                     ",\"timeouts\":%" PRIu64 "},\"listeners\":[",
                  s.conns_current, s.packets, s.bytes_in, s.bytes_out, s.queue_depth,
                  s.queue_capacity, s.workers, s.proto_errors, s.timeouts);
    for (unsigned i = 0; i < pf_server_listeners(srv); i++) {
        pf__sb_str(b, i ? "," : "");
        listener_json(srv, i, snap, b);
    }
    pf__sb_str(b, "]}\n");
}

void pf__admin_render_connections(pf_server *srv, const pf__admin_snap *snap, pf__sb *b)
{
    char addr[300];

    pf__sb_printf(b, "%zu open connections%s\n", snap->total,
                  snap->total > snap->nrows ? " (the first ones shown)" : "");
    pf__sb_printf(b, "%-46s %-22s %-10s %-14s %10s %10s %10s %12s %12s\n", "peer", "listener",
                  "machine", "state", "age_s", "idle_s", "out_bytes", "bytes_in", "bytes_acked");
    for (size_t k = 0; k < snap->nrows; k++) {
        const pf__admin_row *r = &snap->rows[k];
        const pf_fsm *m = pf_server_fsm(srv, r->listener);
        if (pf_server_address(srv, r->listener, addr, sizeof(addr)) < 0)
            addr[0] = 0;
        pf__sb_printf(b, "%-46s %-22s %-10s %-14s ", r->peer, addr, m->name,
                      r->state == PF__ADMIN_NO_STATE ? "(in handler)"
                                                     : pf_fsm_state_name(m, r->state));
        if (r->age_ms == UINT64_MAX)
            pf__sb_printf(b, "%10s ", "-");
        else
            pf__sb_printf(b, "%10.1f ", (double)r->age_ms / 1000.0);
        if (r->idle_ms == UINT64_MAX)
            pf__sb_printf(b, "%10s ", "-");
        else
            pf__sb_printf(b, "%10.1f ", (double)r->idle_ms / 1000.0);
        pf__sb_printf(b, "%10" PRIu64, r->out_bytes);
        if (r->bytes_in == UINT64_MAX)
            pf__sb_printf(b, " %12s %12s\n", "-", "-");
        else
            pf__sb_printf(b, " %12" PRIu64 " %12" PRIu64 "\n", r->bytes_in, r->bytes_out);
    }
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>protofsm admin</title>\n"
    "<style>\n"
    "body{font-family:sans-serif;margin:1em;background:#fafafa;color:#222}\n"
    ".ls{background:#fff;border:1px solid #ccc;border-radius:6px;margin:1em 0;padding:.5em 1em}\n"
    ".ls h2{font-size:1.1em;margin:.3em 0}.stats span{margin-right:1.5em}\n"
    ".diagram svg{max-width:100%;height:auto}\n"
    "table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:2px 6px}\n"
    "td.n{text-align:right}\n"
    "</style></head><body>\n<h1>protofsm admin</h1>\n"
    "<p>Live view: each machine's transitions drawn thicker and redder the more they fired, "
    "states filled by how many sessions sit in them now. "
    "<a href=\"/metrics\">/metrics</a> <a href=\"/connections\">/connections</a> "
    "<a href=\"/api/state\">/api/state</a></p>\n<div id=\"server\"></div>\n";

/* Polls /api/state once a second; no framework, no external asset. */
static const char page_script[] =
    "<script>\n"
    "'use strict';\n"
    "var last=null,lastT=0,polls=0;\n"
    "function el(id){return document.getElementById(id);}\n"
    "function cellsFor(ls,from,to,ev){var out=[];ls.cells.forEach(function(c){\n"
    "  if(c.to!==to)return; if(from!=='*any'&&c.from!==from)return;\n"
    "  if(ev==='any event'?!c.wild:c.event!==ev)return; out.push(c);});return out;}\n"
    "function paint(i,ls){var box=el('svg'+i); if(!box)return; var svg=box.querySelector('svg');\n"
    "  if(!svg)return; var max=1; ls.cells.forEach(function(c){if(c.count>max)max=c.count;});\n"
    "  svg.querySelectorAll('g.edge').forEach(function(g){var t=g.querySelector('title');\n"
    "    if(!t)return; var p=t.textContent.split('->'); if(p.length!==2)return;\n"
    "    var lab=g.querySelector('text'); var ev=lab?lab.textContent.split(' / ')[0]:'';\n"
    "    var n=0; cellsFor(ls,p[0],p[1],ev).forEach(function(c){n+=c.count;});\n"
    "    g.setAttribute('data-count',n); var f=n?Math.log(1+n)/Math.log(1+max):0;\n"
    "    var col=n?'rgb('+Math.round(80+175*f)+',40,40)':'#999';\n"
    "    g.querySelectorAll('path').forEach(function(e){e.setAttribute('stroke',col);\n"
    "      e.setAttribute('stroke-width',String(1+6*f));});\n"
    "    g.querySelectorAll('polygon').forEach(function(e){e.setAttribute('stroke',col);"
    "e.setAttribute('fill',col);});});\n"
    "  var occ=ls.occupancy, om=1; if(occ)occ.forEach(function(v){if(v>om)om=v;});\n"
    "  svg.querySelectorAll('g.node').forEach(function(g){var t=g.querySelector('title');\n"
    "    if(!t)return; var k=ls.states.indexOf(t.textContent); if(k<0||!occ)return;\n"
    "    var v=occ[k]; g.setAttribute('data-sessions',v); var f=v?0.25+0.75*v/om:0;\n"
    "    var e=g.querySelector('ellipse'); if(e)e.setAttribute('fill',v?'rgba(30,120,255,'+f+')':'none');});}\n"
    "function table(i,ls){var tb=el('cells'+i); if(!tb)return; var h='';\n"
    "  ls.cells.forEach(function(c){if(!c.count&&c.to===null)return;\n"
    "    h+='<tr data-from=\"'+c.from+'\" data-event=\"'+c.event+'\" data-count=\"'+c.count+'\"><td>'+c.from+'</td><td>'+c.event+\n"
    "      '</td><td>'+(c.to===null?'(no row)':c.to)+'</td><td class=n>'+c.count+'</td></tr>';});\n"
    "  tb.innerHTML=h;}\n"
    "function quant(a,z,n,q){for(var k=0;k<a.le.length;k++)if(a.le[k]-z.le[k]>=q*n)return (a.bounds_us[k]/1000)+' ms';return '> 1 s';}\n"
    "function show(st){var now=Date.now(); polls++;\n"
    "  el('server').textContent='connections '+st.server.connections+', packets '+st.server.packets+\n"
    "    ', queue '+st.server.queue_depth+'/'+st.server.queue_capacity+', workers '+st.server.workers;\n"
    "  st.listeners.forEach(function(ls,i){var rate='';\n"
    "    if(last&&last.listeners[i]){var dt=(now-lastT)/1000; if(dt>0)rate=((ls.packets-last.listeners[i].packets)/dt).toFixed(1);}\n"
    "    el('open'+i).textContent=ls.open; el('rate'+i).textContent=rate||'-';\n"
    "    el('errors'+i).textContent=ls.errors; el('packets'+i).textContent=ls.packets;\n"
    "    if(last&&last.listeners[i]){var a=ls.latency,z=last.listeners[i].latency,n=a.count-z.count;\n"
    "      el('p50'+i).textContent=n>0?quant(a,z,n,0.5):'-'; el('p99'+i).textContent=n>0?quant(a,z,n,0.99):'-';}\n"
    "    el('occ'+i).textContent=ls.occupancy?ls.states.map(function(s,k){return s+': '+ls.occupancy[k];}).join(', ')+(ls.busy?', in handlers: '+ls.busy:''):'(the I/O thread is busy)';\n"
    "    paint(i,ls); table(i,ls);});\n"
    "  last=st; lastT=now; document.body.setAttribute('data-polls',polls);}\n"
    "function poll(){var x=new XMLHttpRequest(); x.open('GET','/api/state');\n"
    "  x.timeout=3000; x.onload=function(){try{show(JSON.parse(x.responseText));}catch(e){}\n"
    "    setTimeout(poll,1000);}; x.onerror=x.ontimeout=function(){setTimeout(poll,2000);};\n"
    "  x.send();}\n"
    "poll();\n"
    "</script>\n</body></html>\n";

void pf__admin_render_page(pf_server *srv, pf__sb *b)
{
    char addr[300];

    pf__sb_str(b, page_head);
    for (unsigned i = 0; i < pf_server_listeners(srv); i++) {
        const pf_fsm *m = pf_server_fsm(srv, i);
        const char *svg = pf__admin_diagram(m->name);
        if (pf_server_address(srv, i, addr, sizeof(addr)) < 0)
            addr[0] = 0;
        pf__sb_printf(b, "<div class=\"ls\" id=\"ls%u\"><h2>", i);
        pf__sb_html(b, addr);
        pf__sb_str(b, " &mdash; ");
        pf__sb_html(b, m->name);
        pf__sb_printf(b, "</h2><div class=\"stats\"><span>open <b id=\"open%u\">-</b></span>"
                         "<span>req/s <b id=\"rate%u\">-</b></span>"
                         "<span>packets <b id=\"packets%u\">-</b></span>"
                         "<span>refused by the table <b id=\"errors%u\">-</b></span>"
                         "<span>handler p50 <b id=\"p50%u\">-</b></span>"
                         "<span>p99 <b id=\"p99%u\">-</b></span></div>"
                         "<div>sessions per state: <span id=\"occ%u\">-</span></div>\n",
                      i, i, i, i, i, i, i);
        if (svg) {
            /* Inline SVG starts at its root element: the XML prolog and
             * doctype belong to a file, not to an HTML body. */
            const char *root = strstr(svg, "<svg");
            pf__sb_printf(b, "<div class=\"diagram\" id=\"svg%u\">", i);
            pf__sb_str(b, root ? root : svg);
            pf__sb_str(b, "</div>\n");
        }
        pf__sb_printf(b, "<details%s><summary>transitions</summary><table><thead><tr><th>from"
                         "</th><th>event</th><th>to</th><th>count</th></tr></thead>"
                         "<tbody id=\"cells%u\"></tbody></table></details></div>\n",
                      svg ? "" : " open", i);
    }
    pf__sb_str(b, page_script);
}
