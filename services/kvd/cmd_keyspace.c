/* kvd's keyspace and server commands (KEYS, SCAN, FLUSHALL, INFO, CLIENT,
 * CONFIG, AUTH, HELLO ...) and the command table (redis's arity
 * convention, a function, whether it writes).  Replies and error texts are
 * redis-server 7.0's. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd_impl.h"
#include "protofsm/stats.h"

/* Error texts quoting the client's bytes: CR and LF become spaces, as
 * redis's addReplyErrorFormat does, so the reply stays one line. */
void kv__sanitize(kv_buf *b, size_t from)
{
    for (size_t i = from; i < b->len && !b->oom; i++)
        if (b->p[i] == '\r' || b->p[i] == '\n')
            b->p[i] = ' ';
}

/* redis's stringmatchlen: * ? [abc] [^a-z] and \x.  Polynomial, as redis
 * 7.0.9's fix of CVE-2022-36021: once the rest of the pattern after a '*'
 * matched at no position of the rest of the string, no earlier '*' can
 * help by taking a longer piece (the rest would only start later), so
 * *skip ends every pending '*' at once instead of trying them all (which
 * was exponential in the number of stars).  Nesting is capped as redis
 * 7.2 caps it (no match past 1000). */
static int glob_impl(const char *p, size_t pl, const char *s, size_t sl, int depth, int *skip)
{
    if (depth > 1000)
        return 0;
    while (pl && sl) {
        switch (*p) {
        case '*':
            while (pl > 1 && p[1] == '*')
                p++, pl--;
            if (pl == 1)
                return 1;
            for (size_t i = 0; i <= sl; i++) {
                if (glob_impl(p + 1, pl - 1, s + i, sl - i, depth + 1, skip))
                    return 1;
                if (*skip)
                    return 0;
            }
            *skip = 1;
            return 0;
        case '?':
            break;
        case '[': {
            int not = 0, match = 0;
            p++, pl--;
            if (pl && *p == '^')
                not = 1, p++, pl--;
            while (pl && *p != ']') {
                if (*p == '\\' && pl >= 2) {
                    p++, pl--;
                    match |= *p == *s;
                } else if (pl >= 3 && p[1] == '-') {
                    char a = p[0], b = p[2];
                    if (a > b) { char t = a; a = b; b = t; }
                    match |= *s >= a && *s <= b;
                    p += 2, pl -= 2;
                } else {
                    match |= *p == *s;
                }
                p++, pl--;
            }
            if (not)
                match = !match;
            if (!match)
                return 0;
            if (!pl)
                return sl == 1; /* unterminated class: redis stops here */
            break;
        }
        case '\\':
            if (pl >= 2)
                p++, pl--;
            /* fall through */
        default:
            if (*p != *s)
                return 0;
            break;
        }
        p++, pl--;
        s++, sl--;
    }
    while (pl && *p == '*')
        p++, pl--;
    return pl == 0 && sl == 0;
}

int kv__glob(const char *p, size_t pl, const char *s, size_t sl)
{
    int skip = 0;
    return glob_impl(p, pl, s, sl, 0, &skip);
}

/* Visit shard i under its own lock only (unless EXEC holds them all), so
 * a long KEYS or SCAN never stops every other client at once. */
static void shard_enter(kv_ctx *c, int i)
{
    if (!c->all_locked)
        lock_mask(c, 1ull << i);
}
static void shard_leave(kv_ctx *c, int i)
{
    if (!c->all_locked && (c->locked >> i & 1)) {
        pthread_mutex_unlock(&c->st->shard[i].mu);
        c->locked &= ~(1ull << i);
    }
}

void kv__cmd_keys(kv_ctx *c, size_t argc, const pf_slice *av)
{
    (void)argc;
    kv_buf body = { 0 };
    size_t n = 0;
    int64_t now = kv_now_ms();
    /* One shard at a time: the answer is each shard's state when visited
     * (a key moved meanwhile may show twice or not at all), not a
     * snapshot of the whole keyspace under every lock. */
    for (int i = 0; i < KV_SHARDS; i++) {
        kv_shard *sh = &c->st->shard[i];
        shard_enter(c, i);
        for (size_t b = 0; b < sh->cap; b++)
            for (kv_entry *e = sh->tab[b]; e; e = e->next)
                if ((e->expire < 0 || e->expire > now) && kv__glob(av[1].ptr, av[1].len, e->key, e->klen)) {
                    kv_buf_bulk(&body, e->key, e->klen);
                    n++;
                }
        shard_leave(c, i);
    }
    kv_buf_arrhdr(&c->out, n);
    kv_buf_put(&c->out, body.p, body.len);
    kv_buf_free(&body);
}

/* Cursor: shard << 40 | bucket.  Tables only grow, so a key present all
 * along is returned at least once (possibly twice). */
void kv__cmd_scan(kv_ctx *c, size_t argc, const pf_slice *av)
{
    long long cur, count = 10;
    pf_slice match = { NULL, 0 };
    int type_none = 0;
    if (kv__to_ll(av[1], &cur) < 0 || cur < 0)
        return err(c, "ERR invalid cursor");
    for (size_t i = 2; i < argc; i++) {
        if (eq(av[i], "COUNT") && i + 1 < argc) {
            if (kv__to_ll(av[++i], &count) < 0)
                return err(c, E_INT);
            if (count < 1)
                return err(c, E_SYNTAX);
        } else if (eq(av[i], "MATCH") && i + 1 < argc) {
            match = av[++i];
        } else if (eq(av[i], "TYPE") && i + 1 < argc) {
            type_none = !eq(av[++i], "string");
        } else {
            return err(c, E_SYNTAX);
        }
    }
    unsigned sh_i = (unsigned)((unsigned long long)cur >> 40);
    size_t b = (size_t)((unsigned long long)cur & ((1ull << 40) - 1));
    kv_buf body = { 0 };
    size_t n = 0, visited = 0;
    int64_t now = kv_now_ms();
    unsigned long long next = 0;
    while (sh_i < KV_SHARDS) {
        kv_shard *sh = &c->st->shard[sh_i];
        shard_enter(c, (int)sh_i);
        for (; b < sh->cap && visited < (size_t)count; b++, visited++)
            for (kv_entry *e = sh->tab[b]; e; e = e->next)
                if (!type_none && (e->expire < 0 || e->expire > now) &&
                    (!match.ptr || kv__glob(match.ptr, match.len, e->key, e->klen))) {
                    kv_buf_bulk(&body, e->key, e->klen);
                    n++;
                }
        size_t cap = sh->cap;
        shard_leave(c, (int)sh_i);
        if (b < cap) {
            next = (unsigned long long)sh_i << 40 | b;
            break;
        }
        sh_i++;
        b = 0;
        if (sh_i < KV_SHARDS && visited >= (size_t)count) {
            next = (unsigned long long)sh_i << 40;
            break;
        }
    }
    char num[32];
    int nl = snprintf(num, sizeof num, "%llu", next);
    kv_buf_arrhdr(&c->out, 2);
    kv_buf_bulk(&c->out, num, (size_t)nl);
    kv_buf_arrhdr(&c->out, n);
    kv_buf_put(&c->out, body.p, body.len);
    kv_buf_free(&body);
}

void kv__cmd_dbsize(kv_ctx *c, size_t argc, const pf_slice *av)
{
    (void)argc, (void)av;
    size_t n = 0;
    lock_every(c);
    for (int i = 0; i < KV_SHARDS; i++)
        n += c->st->shard[i].n;
    kv_buf_int(&c->out, (long long)n);
}

void kv__cmd_flush(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (argc > 2 || (argc == 2 && !eq(av[1], "ASYNC") && !eq(av[1], "SYNC")))
        return err(c, E_SYNTAX);
    lock_every(c);
    for (int i = 0; i < KV_SHARDS; i++)
        kv_shard_clear(c->st, &c->st->shard[i]);
    pf_slice op = { "FLUSHALL", 8 };
    kv_ops_add(&c->ops, 0xff, 1, &op);
    ok(c);
}

void kv__cmd_select(kv_ctx *c, size_t argc, const pf_slice *av)
{
    long long db;
    (void)argc;
    if (kv__to_ll(av[1], &db) < 0 || db < INT_MIN || db > INT_MAX)
        return err(c, E_INT);
    if (db != 0)
        return err(c, "ERR DB index is out of range");
    ok(c);
}

void kv__cmd_quit(kv_ctx *c, size_t argc, const pf_slice *av)
{
    (void)argc, (void)av;
    ok(c);
    c->close = 1;
}

void kv__cmd_info(kv_ctx *c, size_t argc, const pf_slice *av)
{
    kv_buf t = { 0 };
    int all = argc == 1 || eq(av[1], "all") || eq(av[1], "everything") || eq(av[1], "default");
#define SEC(name) (all || eq(av[1], name))
    if (SEC("server"))
        kv_buf_fmt(&t, "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
                       "server_name:kvd\r\nprocess_id:%d\r\nuptime_in_seconds:%lld\r\n\r\n",
                   (int)getpid(), (long long)(kv_now_ms() - (int64_t)kvd.start_ms) / 1000);
    if (SEC("clients"))
        kv_buf_fmt(&t, "# Clients\r\nconnected_clients:%llu\r\n\r\n",
                   (unsigned long long)__atomic_load_n(&kvd.conns, __ATOMIC_RELAXED));
    if (SEC("memory"))
        kv_buf_fmt(&t, "# Memory\r\nused_memory:%zu\r\nmaxmemory:%zu\r\nmaxmemory_policy:noeviction\r\n\r\n",
                   kv_used_memory(c->st), c->st->maxmemory);
    if (SEC("persistence")) {
        kv_aof_info ai = { 0 };
        if (kvd.aof)
            kv_aof_info_get(kvd.aof, &ai);
        kv_buf_fmt(&t, "# Persistence\r\naof_enabled:%d\r\naof_rewrite_in_progress:%d\r\n"
                       "aof_rewrites:%llu\r\naof_rewrites_cancelled:%llu\r\naof_current_size:%llu\r\n"
                       "aof_base_size:%llu\r\naof_last_write_status:%s\r\naof_torn_tail_cut:%llu\r\n\r\n",
                   kvd.aof != NULL, ai.rewriting, (unsigned long long)ai.rewrites,
                   (unsigned long long)ai.rewrites_cancelled, (unsigned long long)ai.size,
                   (unsigned long long)ai.base_size, ai.last_error ? "err" : "ok",
                   (unsigned long long)ai.torn_cut);
    }
    if (SEC("stats")) {
        pf_server_stats ss = { 0 };
        uint64_t hits = 0, misses = 0;
        if (kvd.srv)
            pf_server_stats_get(kvd.srv, &ss);
        for (int i = 0; i < KV_SHARDS; i++) {
            kv_shard *sh = &c->st->shard[i];
            if (!c->all_locked && !(c->locked >> i & 1))
                pthread_mutex_lock(&sh->mu);
            hits += sh->hits;
            misses += sh->misses;
            if (!c->all_locked && !(c->locked >> i & 1))
                pthread_mutex_unlock(&sh->mu);
        }
        kv_buf_fmt(&t, "# Stats\r\ntotal_connections_received:%llu\r\n"
                       "total_commands_processed:%llu\r\nexpired_keys:%llu\r\n"
                       "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n\r\n",
                   (unsigned long long)ss.conns_accepted, (unsigned long long)ss.packets,
                   (unsigned long long)__atomic_load_n(&c->st->expired_keys, __ATOMIC_RELAXED),
                   (unsigned long long)hits, (unsigned long long)misses);
    }
    if (SEC("keyspace")) {
        size_t n = 0, x = 0;
        for (int i = 0; i < KV_SHARDS; i++) {
            int own = !c->all_locked && !(c->locked >> i & 1);
            if (own)
                pthread_mutex_lock(&c->st->shard[i].mu);
            n += c->st->shard[i].n;
            x += c->st->shard[i].nexpires;
            if (own)
                pthread_mutex_unlock(&c->st->shard[i].mu);
        }
        kv_buf_put(&t, "# Keyspace\r\n", 12);
        if (n)
            kv_buf_fmt(&t, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", n, x);
    }
#undef SEC
    kv_buf_bulk(&c->out, t.p ? t.p : "", t.len);
    kv_buf_free(&t);
}

void kv__cmd_command(kv_ctx *c, size_t argc, const pf_slice *av)
{
    size_t n = 0;
    for (size_t i = 0; i < RESP_NEVENTS; i++)
        n += kv__cmds[i].name != NULL;
    if (argc >= 2 && eq(av[1], "COUNT"))
        return kv_buf_int(&c->out, (long long)n);
    if (argc >= 2 && eq(av[1], "DOCS"))
        return kv_buf_arrhdr(&c->out, 0);
    if (argc >= 2 && !eq(av[1], "INFO")) {
        size_t from = c->out.len;
        kv_buf_fmt(&c->out, "-ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
                   (int)(av[1].len > 128 ? 128 : av[1].len), av[1].ptr);
        kv__sanitize(&c->out, from);
        return kv_buf_put(&c->out, "\r\n", 2);
    }
    kv_buf_arrhdr(&c->out, n);
    for (size_t i = 0; i < RESP_NEVENTS; i++) {
        if (!kv__cmds[i].name)
            continue;
        kv_buf_arrhdr(&c->out, 6);
        kv_buf_bulk(&c->out, kv__cmds[i].name, strlen(kv__cmds[i].name));
        kv_buf_int(&c->out, kv__cmds[i].arity);
        kv_buf_arrhdr(&c->out, 0);
        kv_buf_int(&c->out, 0);
        kv_buf_int(&c->out, 0);
        kv_buf_int(&c->out, 0);
    }
}

/* CLIENT SETNAME's and HELLO SETNAME's rule: printable, no spaces. */
static int bad_name(pf_slice n)
{
    if (n.len > CLIENT_NAME_MAX)
        return 1;
    for (size_t i = 0; i < n.len; i++)
        if (n.ptr[i] < '!' || n.ptr[i] > '~')
            return 1;
    return 0;
}
static const char E_NAME[] = "ERR Client names cannot contain spaces, newlines or special characters.";

void kv__cmd_client(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (eq(av[1], "SETNAME")) {
        if (argc != 3)
            return kv__arity_err(&c->out, av[0], "setname");
        if (bad_name(av[2]))
            return err(c, E_NAME);
        char *nm = av[2].len ? strndup(av[2].ptr, av[2].len) : NULL;
        free(c->cl->name);
        c->cl->name = nm;
        return ok(c);
    }
    if (eq(av[1], "GETNAME")) {
        if (argc != 2)
            return kv__arity_err(&c->out, av[0], "getname");
        if (c->cl->name)
            return kv_buf_bulk(&c->out, c->cl->name, strlen(c->cl->name));
        return nil(c);
    }
    if (eq(av[1], "ID") && argc == 2)
        return kv_buf_int(&c->out, (long long)c->cl->id);
    size_t from = c->out.len;
    kv_buf_fmt(&c->out, "-ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
               (int)(av[1].len > 128 ? 128 : av[1].len), av[1].ptr);
    kv__sanitize(&c->out, from);
    kv_buf_put(&c->out, "\r\n", 2);
}

/* CONFIG GET pattern [pattern ...]: the few parameters clients ask for
 * (redis-benchmark: save, appendonly), read-only.  As redis 7.0: a name
 * without glob characters is looked up ignoring case and echoed as given;
 * a pattern matches the canonical names (ignoring case); each parameter
 * is listed once. */
void kv__cmd_config(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (eq(av[1], "GET")) {
        if (argc < 3)
            return kv__arity_err(&c->out, av[0], "get");
        char mem[24], dbs[] = "1";
        const char *no_yes[] = { "no", "yes" };
        mem[kv_ll2str(mem, (long long)c->st->maxmemory)] = 0;
        const struct { const char *name, *val; } par[] = {
            { "save", "" },   /* no snapshots, ever */
            { "appendonly", no_yes[kvd.aof != NULL] },
            { "appendfsync", kvd.appendfsync ? kvd.appendfsync : "everysec" },
            { "appendfilename", "appendonly.aof" },
            { "dir", kvd.dir ? kvd.dir : "." },
            { "maxmemory", mem },
            { "maxmemory-policy", "noeviction" },
            { "databases", dbs },
            { "timeout", kvd.timeout ? kvd.timeout : "0" }, /* --idle-timeout */
        };
        enum { NPAR = sizeof par / sizeof par[0] };
        pf_slice name[NPAR];
        size_t n = 0;
        for (size_t k = 0; k < NPAR; k++) {
            name[k].ptr = NULL;
            for (size_t i = 2; i < argc && !name[k].ptr; i++) {
                pf_slice p = av[i];
                if (!memchr(p.ptr, '*', p.len) && !memchr(p.ptr, '?', p.len) &&
                    !memchr(p.ptr, '[', p.len)) {
                    if (eq(p, par[k].name))
                        name[k] = p;
                } else {
                    char low[128];
                    if (p.len < sizeof low) {
                        lower(low, p, sizeof low);
                        if (kv__glob(low, p.len, par[k].name, strlen(par[k].name)))
                            name[k] = (pf_slice){ par[k].name, strlen(par[k].name) };
                    }
                }
            }
            n += name[k].ptr != NULL;
        }
        kv_buf_arrhdr(&c->out, 2 * n);
        for (size_t k = 0; k < NPAR; k++)
            if (name[k].ptr) {
                kv_buf_bulk(&c->out, name[k].ptr, name[k].len);
                kv_buf_bulk(&c->out, par[k].val, strlen(par[k].val));
            }
        return;
    }
    if (eq(av[1], "HELP")) {
        if (argc != 2)
            return kv__arity_err(&c->out, av[0], "help");
        static const char help[] =
            "*5\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
            "+GET <pattern>\r\n"
            "+    Return parameters matching the glob-like <pattern> and their values.\r\n"
            "+HELP\r\n+    Prints this help.\r\n";
        return kv_buf_put(&c->out, help, sizeof help - 1);
    }
    if (eq(av[1], "SET") || eq(av[1], "RESETSTAT") || eq(av[1], "REWRITE"))
        return err(c, "ERR kvd takes its configuration from the command line only");
    size_t from = c->out.len;
    kv_buf_fmt(&c->out, "-ERR unknown subcommand '%.*s'. Try CONFIG HELP.",
               (int)(av[1].len > 128 ? 128 : av[1].len), av[1].ptr);
    kv__sanitize(&c->out, from);
    kv_buf_put(&c->out, "\r\n", 2);
}

/* Whether a equals the secret b, in a time that depends on the lengths
 * only, never on where the bytes differ (as redis's
 * time_independent_strcmp): no early exit, no memcmp. */
int kv_secret_eq(const char *a, size_t al, const char *b, size_t bl)
{
    volatile unsigned char d = al != bl;
    for (size_t i = 0; i < al; i++)
        d |= (unsigned char)(a[i] ^ (bl ? b[i % bl] : 0));
    return d == 0;
}

static int check_pass(pf_slice user, pf_slice pass)
{
    if (!eq(user, "default"))
        return 0;
    if (!kvd.requirepass)
        return 1;
    return kv_secret_eq(pass.ptr, pass.len, kvd.requirepass, strlen(kvd.requirepass));
}


/* AUTH [user] pass: 1 authenticated, 0 not (the reply is written). */
int kv__do_auth(kv_ctx *c, size_t argc, const pf_slice *av)
{
    if (argc < 2 || argc > 3) {
        kv_buf_put(&c->out, "-ERR syntax error\r\n", 19);
        return 0;
    }
    if (argc == 2 && !kvd.requirepass) {
        err(c, "ERR AUTH <password> called without any password configured for the default "
               "user. Are you sure your configuration is correct?");
        return 0;
    }
    pf_slice user = argc == 3 ? av[1] : (pf_slice){ "default", 7 };
    if (!check_pass(user, av[argc - 1])) {
        err(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return 0;
    }
    ok(c);
    return 1;
}

/* HELLO [2 [AUTH user pass] [SETNAME name]]: 1 when it (also) authenticated. */
int kv__do_hello(kv_ctx *c, size_t argc, const pf_slice *av, int authed)
{
    long long ver = 2;
    if (argc >= 2) {
        if (kv__to_ll(av[1], &ver) < 0) {
            err(c, "ERR Protocol version is not an integer or out of range");
            return 0;
        }
    }
    /* As redis 7.0: the version before the options (3, which kvd does not
     * speak, after them: redis would accept it) */
    if (ver < 2 || ver > 3) {
        err(c, "NOPROTO unsupported protocol version");
        return 0;
    }
    pf_slice name = { NULL, 0 };
    int auth_ok = 0, auth_given = 0;
    for (size_t i = 2; i < argc; i++) {
        if (eq(av[i], "AUTH") && i + 2 < argc) {
            auth_given = 1;
            auth_ok = check_pass(av[i + 1], av[i + 2]);
            i += 2;
        } else if (eq(av[i], "SETNAME") && i + 1 < argc) {
            name = av[++i];
            if (bad_name(name)) {
                err(c, E_NAME);
                return 0;
            }
        } else {
            size_t from = c->out.len;
            kv_buf_fmt(&c->out, "-ERR Syntax error in HELLO option '%.*s'",
                       (int)(av[i].len > 128 ? 128 : av[i].len), av[i].ptr);
            kv__sanitize(&c->out, from);
            kv_buf_put(&c->out, "\r\n", 2);
            return 0;
        }
    }
    if (ver == 3) {
        err(c, "NOPROTO unsupported protocol version");
        return 0;
    }
    if (auth_given && !auth_ok) {
        err(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return 0;
    }
    if (!authed && !auth_ok) {
        err(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
               "HELLO AUTH <user> <pass> option can be used to authenticate the client "
               "and select the RESP protocol version at the same time");
        return 0;
    }
    if (name.ptr) {
        char *nm = name.len ? strndup(name.ptr, name.len) : NULL;
        free(c->cl->name);
        c->cl->name = nm;
    }
    kv_buf_fmt(&c->out, "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
                        "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:%llu\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                        "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
               (unsigned long long)c->cl->id);
    return 1;
}

void kv__cmd_auth(kv_ctx *c, size_t argc, const pf_slice *av) { kv__do_auth(c, argc, av); }
void kv__cmd_hello(kv_ctx *c, size_t argc, const pf_slice *av) { kv__do_hello(c, argc, av, 1); }

#define CMD(ev, nm, ar, f) [RESP_EV_##ev] = { nm, ar, f, 0 },
#define CMDW(ev, nm, ar, f) [RESP_EV_##ev] = { nm, ar, f, 1 }, /* writes: logged, MISCONF */
const cmd_def kv__cmds[RESP_NEVENTS] = {
    CMD(PING, "ping", -1, kv__cmd_ping) CMD(ECHO, "echo", 2, kv__cmd_echo) CMD(GET, "get", 2, kv__cmd_get)
    CMDW(SET, "set", -3, kv__cmd_set) CMDW(SETNX, "setnx", 3, kv__cmd_setnx) CMDW(GETSET, "getset", 3, kv__cmd_getset)
    CMD(MGET, "mget", -2, kv__cmd_mget) CMDW(MSET, "mset", -3, kv__cmd_mset) CMDW(DEL, "del", -2, kv__cmd_del)
    CMD(EXISTS, "exists", -2, kv__cmd_exists) CMDW(INCR, "incr", 2, kv__cmd_incr) CMDW(DECR, "decr", 2, kv__cmd_decr)
    CMDW(INCRBY, "incrby", 3, kv__cmd_incrby) CMDW(DECRBY, "decrby", 3, kv__cmd_decrby)
    CMDW(APPEND, "append", 3, kv__cmd_append) CMD(STRLEN, "strlen", 2, kv__cmd_strlen)
    CMDW(EXPIRE, "expire", -3, kv__cmd_expire) CMDW(PEXPIRE, "pexpire", -3, kv__cmd_pexpire)
    CMD(TTL, "ttl", 2, kv__cmd_ttl) CMD(PTTL, "pttl", 2, kv__cmd_pttl) CMDW(PERSIST, "persist", 2, kv__cmd_persist)
    CMD(TYPE, "type", 2, kv__cmd_type) CMD(KEYS, "keys", 2, kv__cmd_keys) CMD(SCAN, "scan", -2, kv__cmd_scan)
    CMD(DBSIZE, "dbsize", 1, kv__cmd_dbsize) CMDW(FLUSHDB, "flushdb", -1, kv__cmd_flush)
    CMDW(FLUSHALL, "flushall", -1, kv__cmd_flush) CMD(SELECT, "select", 2, kv__cmd_select)
    CMD(QUIT, "quit", -1, kv__cmd_quit) CMD(INFO, "info", -1, kv__cmd_info)
    CMD(COMMAND, "command", -1, kv__cmd_command) CMD(CLIENT, "client", -2, kv__cmd_client)
    CMD(HELLO, "hello", -1, kv__cmd_hello) CMD(AUTH, "auth", -2, kv__cmd_auth)
    CMD(MULTI, "multi", 1, NULL) CMD(EXEC, "exec", 1, NULL) CMD(DISCARD, "discard", 1, NULL)
    CMD(CONFIG, "config", -2, kv__cmd_config)
};
