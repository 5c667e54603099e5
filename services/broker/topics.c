/* The broker's topic trees: one of subscription filters, one of retained
 * topics, both cut at '/' into levels (MQTT-4.7).
 *
 * Why trees: a PUBLISH used to test every filter of every client, and a
 * SUBSCRIBE every retained message for every filter copy, under the one
 * broker lock: one 250 KB SUBSCRIBE stalled all clients for seconds.  Here
 * a topic is matched by walking its levels, taking at each node only the
 * exact child, the '+' child and the '#' child; a filter against retained
 * topics takes the exact child, every child for '+', and the whole subtree
 * for '#'.  Work is proportional to what can match.
 *
 * A child is found by (parent, name) in one hash table shared by both
 * trees, so a node with a million children costs no more to descend than
 * one with two; children are also linked in a list for '+' and '#'.  A
 * node goes away when it holds nothing and has no children.
 *
 * No recursion: a topic may have 65,535 levels, so walks keep their own
 * stack on the heap (or, for a subtree, follow parent links).  Everything
 * here runs under B->lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker_impl.h"
#include "mqtt.h"

typedef struct subent {
    client *c;
    uint8_t qos;
} subent;

struct tnode {
    tnode *parent, *kids, *prev, *next; /* children list, siblings */
    tnode *hnext;                       /* hash chain */
    tnode *plus, *hash;                 /* the '+' and '#' children, if any */
    subent *subs;                       /* subscription tree: who subscribed here */
    unsigned nsubs, capsubs;
    msg *ret;                           /* retained tree: the message, if any */
    owner *ret_owner;
    size_t nlen;
    char name[];
};

/* ---- nodes ----------------------------------------------------------------- */

static size_t node_hash(const tnode *parent, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static tnode *child(pf_broker *B, tnode *parent, const char *s, size_t n)
{
    for (tnode *t = B->ntab[node_hash(parent, s, n) & (B->ntab_n - 1)]; t; t = t->hnext)
        if (t->parent == parent && t->nlen == n && memcmp(t->name, s, n) == 0)
            return t;
    return NULL;
}

static void rehash(pf_broker *B)
{
    size_t nn = B->ntab_n * 2;
    tnode **nt = calloc(nn, sizeof(*nt));
    if (!nt)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < B->ntab_n; i++)
        for (tnode *t = B->ntab[i], *nx; t; t = nx) {
            nx = t->hnext;
            size_t b = node_hash(t->parent, t->name, t->nlen) & (nn - 1);
            t->hnext = nt[b];
            nt[b] = t;
        }
    free(B->ntab);
    B->ntab = nt;
    B->ntab_n = nn;
}

static tnode *node_alloc(const char *s, size_t n)
{
    tnode *t = calloc(1, sizeof(*t) + n + 1);
    if (t) {
        memcpy(t->name, s, n);
        t->nlen = n;
    }
    return t;
}

static tnode *child_make(pf_broker *B, tnode *parent, const char *s, size_t n)
{
    tnode *t = child(B, parent, s, n);
    if (t)
        return t;
    if (!(t = node_alloc(s, n)))
        return NULL;
    if (B->nnodes >= B->ntab_n * 2)
        rehash(B);
    size_t b = node_hash(parent, s, n) & (B->ntab_n - 1);
    t->hnext = B->ntab[b];
    B->ntab[b] = t;
    B->nnodes++;
    t->parent = parent;
    t->next = parent->kids;
    if (parent->kids)
        parent->kids->prev = t;
    parent->kids = t;
    if (n == 1 && s[0] == '+')
        parent->plus = t;
    if (n == 1 && s[0] == '#')
        parent->hash = t;
    return t;
}

/* Free `t` and its empty ancestors (never a root). */
static void prune(pf_broker *B, tnode *t)
{
    while (t->parent && !t->kids && !t->nsubs && !t->ret) {
        tnode *p = t->parent, **pp = &B->ntab[node_hash(p, t->name, t->nlen) & (B->ntab_n - 1)];
        while (*pp != t)
            pp = &(*pp)->hnext;
        *pp = t->hnext;
        B->nnodes--;
        if (t->prev)
            t->prev->next = t->next;
        else
            p->kids = t->next;
        if (t->next)
            t->next->prev = t->prev;
        if (p->plus == t)
            p->plus = NULL;
        if (p->hash == t)
            p->hash = NULL;
        free(t->subs);
        free(t);
        t = p;
    }
}

/* The end of the level starting at `at` in s[0..n). */
static size_t level_end(const char *s, size_t n, size_t at)
{
    const char *e = at < n ? memchr(s + at, '/', n - at) : NULL;
    return e ? (size_t)(e - s) : n;
}

static tnode *path(pf_broker *B, tnode *root, const char *s, size_t n, int make)
{
    tnode *t = root;
    for (size_t at = 0; t && at <= n;) {
        size_t e = level_end(s, n, at);
        t = make ? child_make(B, t, s + at, e - at) : child(B, t, s + at, e - at);
        at = e + 1;
    }
    return t;
}

int pf__bk_tree_init(pf_broker *B)
{
    B->ntab_n = 1024;
    B->ntab = calloc(B->ntab_n, sizeof(*B->ntab));
    B->subs_root = node_alloc("", 0);
    B->ret_root = node_alloc("", 0);
    return B->ntab && B->subs_root && B->ret_root ? 0 : -ENOMEM;
}

/* Everything under `root`, children first (no recursion: parent links). */
static void free_tree(tnode *root)
{
    tnode *t = root;
    while (t) {
        if (t->kids) {
            t = t->kids;
            continue;
        }
        tnode *p = t->parent;
        if (p)
            p->kids = t->next;
        if (t->ret) {
            pf__bk_msg_unref(t->ret);
            /* owners are freed with the broker's owner table */
        }
        free(t->subs);
        free(t);
        t = p;
    }
}

void pf__bk_tree_free(pf_broker *B)
{
    if (B->subs_root)
        free_tree(B->subs_root);
    if (B->ret_root)
        free_tree(B->ret_root);
    free(B->ntab);
}

/* ---- subscriptions ------------------------------------------------------------ */

tnode *pf__bk_sub_node(pf_broker *B, const char *filter, size_t n, int make)
{
    return path(B, B->subs_root, filter, n, make);
}

void pf__bk_sub_prune(pf_broker *B, tnode *node) { prune(B, node); }

subref *pf__bk_sub_add(client *c, tnode *node, uint8_t qos)
{
    for (unsigned i = 0; i < c->nsubs; i++)
        if (c->subs[i].node == node) { /* MQTT-3.8.4-3: replaced */
            c->subs[i].qos = qos;
            node->subs[c->subs[i].idx].qos = qos;
            return &c->subs[i];
        }
    if (c->nsubs >= c->b->conf.max_subs)
        return NULL;
    if (c->nsubs == c->capsubs) {
        unsigned cap = c->capsubs ? c->capsubs * 2 : 4;
        subref *ns = realloc(c->subs, cap * sizeof(*ns));
        if (!ns)
            return NULL;
        c->subs = ns;
        c->capsubs = cap;
    }
    if (node->nsubs == node->capsubs) {
        unsigned cap = node->capsubs ? node->capsubs * 2 : 2;
        subent *ns = realloc(node->subs, cap * sizeof(*ns));
        if (!ns)
            return NULL;
        node->subs = ns;
        node->capsubs = cap;
    }
    node->subs[node->nsubs] = (subent){ c, qos };
    c->subs[c->nsubs] = (subref){ node, node->nsubs, qos, 0 };
    node->nsubs++;
    return &c->subs[c->nsubs++];
}

void pf__bk_sub_del(client *c, unsigned i)
{
    subref r = c->subs[i];
    tnode *node = r.node;
    /* Swap-remove in the node; the moved entry's client learns its index. */
    subent last = node->subs[--node->nsubs];
    if (r.idx != node->nsubs) {
        node->subs[r.idx] = last;
        for (unsigned k = 0; k < last.c->nsubs; k++)
            if (last.c->subs[k].node == node) {
                last.c->subs[k].idx = r.idx;
                break;
            }
    }
    c->subs[i] = c->subs[--c->nsubs];
    prune(c->b, node);
}

/* ---- routing --------------------------------------------------------------- */

typedef struct step {
    tnode *t;
    size_t at; /* the next level starts here; n + 1: all consumed */
} step;

typedef struct walk {
    step *st;
    size_t n, cap;
} walk;

static int push(walk *w, tnode *t, size_t at)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        step *ns = realloc(w->st, cap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        w->st = ns;
        w->cap = cap;
    }
    w->st[w->n++] = (step){ t, at };
    return 0;
}

typedef struct hits {
    target *v;
    size_t n, cap;
    unsigned gen;
} hits;

static int take(hits *h, const tnode *t)
{
    for (unsigned i = 0; i < t->nsubs; i++) {
        client *c = t->subs[i].c;
        if (c->route_gen == h->gen) { /* one delivery, the best QoS */
            if (t->subs[i].qos > c->route_qos)
                c->route_qos = t->subs[i].qos;
            continue;
        }
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 16;
            target *nv = realloc(h->v, cap * sizeof(*nv));
            if (!nv)
                return -ENOMEM;
            h->v = nv;
            h->cap = cap;
        }
        c->route_gen = h->gen;
        c->route_qos = t->subs[i].qos;
        h->v[h->n++] = (target){ c, 0 };
    }
    return 0;
}

long pf__bk_route(pf_broker *B, const msg *m, target **out)
{
    const char *s = m->data;
    size_t n = m->tlen;
    int dollar = n && s[0] == '$'; /* MQTT-4.7.2-1: no wildcard at its first level */
    walk w = { 0 };
    hits h = { .gen = ++B->route_gen };
    int rc = push(&w, B->subs_root, 0);

    while (rc == 0 && w.n) {
        step x = w.st[--w.n];
        if (x.at > n) { /* every level matched: this node, and "a/#" for "a" */
            rc = take(&h, x.t);
            if (rc == 0 && x.t->hash)
                rc = take(&h, x.t->hash);
            continue;
        }
        int wild = !(dollar && x.at == 0);
        size_t e = level_end(s, n, x.at);
        if (wild && x.t->hash)
            rc = take(&h, x.t->hash);
        if (rc == 0 && wild && x.t->plus)
            rc = push(&w, x.t->plus, e + 1);
        tnode *k = child(B, x.t, s + x.at, e - x.at);
        if (rc == 0 && k)
            rc = push(&w, k, e + 1);
    }
    free(w.st);
    if (rc < 0) {
        free(h.v);
        return rc;
    }
    for (size_t i = 0; i < h.n; i++) {
        client *c = h.v[i].c;
        uint8_t q = c->route_qos;
        h.v[i].qos = m->qos < q ? m->qos : q; /* MQTT-3.8.4-6 */
        pf__bk_client_ref(c);
    }
    *out = h.v;
    return (long)h.n;
}

/* ---- retained messages ------------------------------------------------------- */

static int over(const pf_broker_conf *cf, size_t n, size_t bytes, unsigned on, size_t obytes)
{
    return n > cf->max_retained || bytes > cf->max_retained_bytes ||
           (cf->max_retained_per_addr != PF_BROKER_UNLIMITED && on > cf->max_retained_per_addr) ||
           obytes > cf->max_retained_bytes_per_addr;
}

static void charge(pf_broker *B, tnode *t, msg *m, owner *o)
{
    t->ret = m;
    t->ret_owner = o;
    o->refs++;
    o->retained++;
    o->rbytes += m->tlen + m->plen;
    B->nretained++;
    B->retained_bytes += m->tlen + m->plen;
}

static void discharge(pf_broker *B, tnode *t)
{
    msg *old = t->ret;
    owner *o = t->ret_owner;
    B->nretained--;
    B->retained_bytes -= old->tlen + old->plen;
    o->retained--;
    o->rbytes -= old->tlen + old->plen;
    t->ret = NULL;
    t->ret_owner = NULL;
    pf__bk_msg_unref(old);
    pf__bk_owner_put(B, o);
}

int pf__bk_retain(pf_broker *B, msg *m, owner *o)
{
    tnode *t = path(B, B->ret_root, m->data, m->tlen, 0);
    size_t sz = m->tlen + m->plen, had = t && t->ret ? t->ret->tlen + t->ret->plen : 0;
    if (m->plen == 0) { /* MQTT-3.3.1-10,11: deletes, never stored */
        if (t && t->ret) {
            discharge(B, t);
            prune(B, t);
        }
        return 0;
    }
    /* The totals as they would be with `m` in place of what it replaces. */
    size_t n = B->nretained + (had ? 0 : 1), bytes = B->retained_bytes - had + sz;
    unsigned on = o->retained + 1;
    size_t obytes = o->rbytes + sz;
    if (t && t->ret && t->ret_owner == o) {
        on--;
        obytes -= had;
    }
    if (over(&B->conf, n, bytes, on, obytes))
        return -ENOSPC;
    if (!t && !(t = path(B, B->ret_root, m->data, m->tlen, 1)))
        return -ENOSPC; /* out of memory: refused, visibly, like a limit */
    if (t->ret)
        discharge(B, t);
    charge(B, t, pf__bk_msg_ref(m), o);
    return 0;
}

typedef struct found {
    msg ***v;
    size_t *n, *cap, stop;
} found;

static int add_ret(found *f, tnode *t)
{
    if (!t->ret)
        return 0;
    if (*f->n >= f->stop)
        return 1; /* the client's share is taken: stop walking */
    if (*f->n == *f->cap) {
        size_t cap = *f->cap ? *f->cap * 2 : 16;
        msg **nv = realloc(*f->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        *f->v = nv;
        *f->cap = cap;
    }
    (*f->v)[(*f->n)++] = pf__bk_msg_ref(t->ret);
    return 0;
}

int pf__bk_retained_matching(pf_broker *B, const char *s, size_t n, size_t max, msg ***out,
                             size_t *cnt, size_t *cap)
{
    found f = { out, cnt, cap, *cnt + max };
    walk w = { 0 };
    int rc = push(&w, B->ret_root, 0);

    while (rc == 0 && w.n) {
        step x = w.st[--w.n];
        if (x.at == SIZE_MAX) { /* below a '#': this node and all under it */
            rc = add_ret(&f, x.t);
            for (tnode *k = x.t->kids; rc == 0 && k; k = k->next)
                rc = push(&w, k, SIZE_MAX);
            continue;
        }
        if (x.at > n) {
            rc = x.t != B->ret_root ? add_ret(&f, x.t) : 0;
            continue;
        }
        size_t e = level_end(s, n, x.at);
        int root = x.t == B->ret_root;
        if (e - x.at == 1 && s[x.at] == '#') {
            /* This level's topic too ("a/#" matches "a"), then all below. */
            if (!root)
                rc = add_ret(&f, x.t);
            for (tnode *k = x.t->kids; rc == 0 && k; k = k->next)
                if (!(root && k->nlen && k->name[0] == '$'))
                    rc = push(&w, k, SIZE_MAX);
            continue;
        }
        if (e - x.at == 1 && s[x.at] == '+') {
            for (tnode *k = x.t->kids; rc == 0 && k; k = k->next)
                if (!(root && k->nlen && k->name[0] == '$'))
                    rc = push(&w, k, e + 1);
            continue;
        }
        tnode *k = child(B, x.t, s + x.at, e - x.at);
        if (k)
            rc = push(&w, k, e + 1);
    }
    free(w.st);
    return rc < 0 ? rc : 0;
}
