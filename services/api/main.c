/* main.c -- one glance-api replica: wire the modules together, listen, run the loop, shut down cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "h2o.h"
#include "base/log.h"
#include "http/app.h"
#include "alerts/subscriber_messages.h"
#include "alerts/subscriber_sender.h"
#include "http/routes.h"
#include "http/statuspage_routes.h"
#include "http/summary.h"
#include "http/web_pages.h"

#define SHUTDOWN_GRACE_MS 10000
/* Feed clients get this long to take their close frame; one that does not read is then simply cut. */
#define FEED_CLOSE_GRACE_MS 1000
#define MAX_ENV_ENTRIES 256
/* Descriptors kept free for what the replica itself opens: its Redis connections (and sentinel questions),
 * name lookups, files served; an accepted connection numbered above this many below the limit is refused. */
#define FD_RESERVE 32
/* The send buffer of every accepted connection (the kernel doubles it). */
#define SEND_BUFFER (64 * 1024)
/* Out of descriptors, the listener rests this long instead of waking up for a connection it cannot take. */
#define ACCEPT_PAUSE_MS 100

/* The first SIGTERM or SIGINT starts the drain; a second one cuts it short (an operator's second Ctrl-C). */
static volatile sig_atomic_t stop_requested;

static void on_signal(int signo)
{
    if (stop_requested < 2)
        stop_requested++;
}

struct env_file {
    char *text;
    struct conf_env_entry entries[MAX_ENV_ENTRIES];
    size_t count;
};

/* The environment wins over the .env file, as in the original. */
static const char *lookup(void *ctx, const char *name)
{
    struct env_file *env = ctx;
    const char *v = getenv(name);
    size_t i;

    if (v != NULL)
        return v;
    for (i = env->count; i-- != 0;)
        if (strcmp(env->entries[i].key, name) == 0)
            return env->entries[i].value;
    return NULL;
}

/* Reads GLANCE_ENV_FILE, or ./.env when present. Returns 0, or -1 with the reason in err. */
static int read_env_file(struct env_file *env, char *err, size_t errlen)
{
    const char *path = getenv("GLANCE_ENV_FILE");
    int required = path != NULL;
    FILE *fp;
    long size;

    if (path == NULL)
        path = ".env";
    if ((fp = fopen(path, "r")) == NULL) {
        if (!required && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "GLANCE_ENV_FILE=\"%s\": cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || size > 1024 * 1024 || fseek(fp, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot read it, or it is over 1 MiB", path);
        fclose(fp);
        return -1;
    }
    env->text = h2o_mem_alloc((size_t)size + 1);
    if (fread(env->text, 1, (size_t)size, fp) != (size_t)size) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        fclose(fp);
        return -1;
    }
    env->text[size] = '\0';
    fclose(fp);
    return conf_parse_env(env->text, path, env->entries, MAX_ENV_ENTRIES, &env->count, err, errlen);
}

static int create_listener(const struct conf *conf, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res;
    char port[8];
    int fd, on = 1, rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", conf->port);
    if ((rc = getaddrinfo(conf->host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "GLANCE_HOST=\"%s\": %s", conf->host, gai_strerror(rc));
        return -1;
    }
    if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "listen on %s:%u: %s", conf->host, conf->port, strerror(errno));
        if (fd != -1)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* The listening socket and what it needs to pause when descriptors run out. */
struct listener {
    h2o_loop_t *loop;
    h2o_socket_t *sock;
    h2o_accept_ctx_t *accept_ctx;
    int fd_ceiling; /* accepted descriptors at or above this are refused: the rest is FD_RESERVE */
    uint64_t paused_logged_at;
    h2o_timeout_t pause;
    h2o_timeout_entry_t resume;
};

static void on_accept(h2o_socket_t *sock, const char *err);

static void on_resume(h2o_timeout_entry_t *entry)
{
    struct listener *l = H2O_STRUCT_FROM_MEMBER(struct listener, resume, entry);

    h2o_socket_read_start(l->sock, on_accept);
}

static void pause_accepting(struct listener *l, const char *why)
{
    uint64_t now = h2o_now(l->loop);

    if (h2o_timeout_is_linked(&l->resume))
        return;
    if (l->paused_logged_at == 0 || now - l->paused_logged_at >= 10000) {
        log_warn("%s: not accepting connections for %d ms (raise `ulimit -n`, or run more replicas)", why, ACCEPT_PAUSE_MS);
        l->paused_logged_at = now;
    }
    h2o_socket_read_stop(l->sock);
    h2o_timeout_link(l->loop, &l->pause, &l->resume);
}

static void on_accept(h2o_socket_t *sock, const char *err)
{
    struct listener *l = sock->data;
    static const char refusal[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                                  "X-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: 61\r\n\r\n"
                                  "{\"error\":\"this replica has all the connections it can take\"}\n";
    int i, fd, on = 1, sndbuf = SEND_BUFFER;

    if (err != NULL)
        return;
    /* drain a burst of connections per wake-up, but leave room for the rest of the loop; accepted here rather
     * than by h2o so that one refused is written and closed at once, never holding a reserved descriptor */
    for (i = 0; i != 64; ++i) {
        if ((fd = accept4(h2o_socket_get_fd(sock), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
            if (errno == EMFILE || errno == ENFILE)
                pause_accepting(l, "out of file descriptors");
            break;
        }
        if (fd >= l->fd_ceiling) {
            /* descriptors are handed out lowest first, so this one's number says how many are open; a fresh
             * socket's buffer takes the short answer whole */
            if (write(fd, refusal, sizeof(refusal) - 1) < 0) {
                /* the client is gone already */
            }
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        /* a bounded send buffer keeps each write of a big body short, so that a flood of readers cannot make a
         * turn of the loop long and a POST waits behind a few of them at most */
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        h2o_accept(l->accept_ctx, h2o_evloop_socket_create(l->loop, fd, H2O_SOCKET_FLAG_IS_ACCEPTED_CONNECTION));
    }
}

/* Raises the descriptor limit to the hard limit and returns it; keeps feed clients below what it allows. */
static int fit_descriptor_limit(struct conf *conf)
{
    struct rlimit rl;
    uint64_t room, feeds;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
        rl.rlim_cur = 1048576;
    /* feed clients may take what is left after the reserve and a sixteenth (at least 32) for plain requests */
    room = rl.rlim_cur / 16 > 32 ? rl.rlim_cur / 16 : 32;
    feeds = rl.rlim_cur > FD_RESERVE + room + 1 ? rl.rlim_cur - FD_RESERVE - room : 1;
    if (conf->feed_max_clients > feeds) {
        log_warn("GLANCE_FEED_MAX_CLIENTS=%u is more than %llu open files allow: taking %llu feed clients at most",
                 conf->feed_max_clients, (unsigned long long)rl.rlim_cur, (unsigned long long)feeds);
        conf->feed_max_clients = (uint32_t)feeds;
    }
    return (int)rl.rlim_cur;
}

/* The wiring: who hears what. */
static void on_store_ready(void *data)
{
    struct app *app = data;

    expiry_on_store_ready(app->expiry);
    if (bus_subscribed(app->bus))
        mirror_resync(app->mirror);
}

static void on_store_lost(void *data)
{
    struct app *app = data;

    /* writes fail until Redis returns; resync then, so that clients get a hello and lose the stale mark */
    mirror_lost(app->mirror);
    feed_on_lost(app->feed);
}

static void on_bus_subscribed(void *data)
{
    struct app *app = data;

    if (store_ready(app->store))
        mirror_resync(app->mirror);
}

static void on_bus_lost(void *data)
{
    struct app *app = data;

    mirror_lost(app->mirror);
    feed_on_lost(app->feed);
}

static void on_bus_event(void *data, const struct codec_event *ev)
{
    struct app *app = data;
    ssize_t cluster = mirror_apply(app->mirror, ev);

    /* every status but unknown and unhealthy, and every ping, has just set the shard's health key */
    if (cluster >= 0)
        expiry_on_heard(app->expiry, (size_t)cluster, ev->shard,
                        ev->kind == EVENT_PING || shard_state_is_reported_alive(ev->state),
                        ev->kind == EVENT_PING ? 0 : ev->since_ms);
}

/* The expiry's filter: a shard the mirror holds, in sync, as unhealthy or unknown has nothing to expire. Out of sync
 * (starting, or after a gap) the mirror knows nothing for sure, so every check goes to Redis. */
static int may_expire(void *data, size_t cluster, uint32_t shard)
{
    const struct mirror_cluster *c = mirror_cluster(((struct app *)data)->mirror, cluster);

    return !c->synced || shard >= c->conf->shards || shard_state_is_reported_alive(c->states[shard]);
}

static void on_bus_expired(void *data, size_t cluster, uint32_t shard)
{
    expiry_on_expired(((struct app *)data)->expiry, cluster, shard);
}

static void on_mirror_change(void *data, size_t cluster, uint32_t shard)
{
    struct app *app = data;

    feed_on_change(app->feed, cluster, shard);
    alerts_shard_changed(app->alerts, cluster, shard);
}

static void on_mirror_ping(void *data, size_t cluster, uint32_t shard)
{
    feed_on_ping(((struct app *)data)->feed, cluster, shard);
}

static void on_mirror_synced(void *data)
{
    struct app *app = data;

    feed_on_synced(app->feed);
    /* so that the first /metrics scrape and /plain after a (re)start already have the figures; only now, as which
     * latencies count depends on the states */
    figures_refresh(app->figures);
}

int main(int argc, char **argv)
{
    static struct conf conf;
    static struct env_file env;
    static struct app app;
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx = {0};
    h2o_pathconf_t *pathconf;
    static struct listener listener;
    int fd_limit;
    const char *index_files[] = {"index.html", NULL};
    struct sigaction sa = {0};
    struct stat st;
    char err[512];
    uint64_t deadline, feed_deadline;
    int fd;

    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        routes_print(stdout); /* the route table, for tests and docs; nothing is started */
        return 0;
    }

    if (read_env_file(&env, err, sizeof(err)) != 0 || conf_load(&conf, lookup, &env, err, sizeof(err)) != 0) {
        fprintf(stderr, "glance-api: %s\n", err);
        return 2;
    }
    if (conf.passphrase_len != 0 && conf.passphrase_len < 16)
        log_warn("GLANCE_PASSPHRASE has only %zu characters: anyone who can reach the API may guess it; use 16 or more",
                 conf.passphrase_len);
    fd_limit = fit_descriptor_limit(&conf);
    if ((fd = create_listener(&conf, err, sizeof(err))) == -1) {
        fprintf(stderr, "glance-api: %s\n", err);
        return 1;
    }
    if (stat(conf.web_root, &st) != 0 || !S_ISDIR(st.st_mode))
        log_warn("GLANCE_WEB_ROOT=\"%s\" is not a directory; / will answer 404", conf.web_root);

    sa.sa_handler = on_signal;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "glance-api: cannot install signal handlers: %s\n", strerror(errno));
        return 1;
    }
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    /* Bodies rendered for readers (a /plain, a /api/status, a hello) are hundreds of KiB to megabytes and come and
     * go with versions. glibc raises its mmap threshold after the first such block is freed, so later ones come
     * from the heap and a burst of readers leaves the replica's RSS up for good; a fixed threshold keeps them
     * mapped, and given back to the kernel when the last reader lets go. */
    (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);

    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("glance"));
    globalconf.max_request_entity_size = 1024 * 1024;
    /* no HTTP/2 in cleartext (neither h2c upgrade nor prior knowledge): replicas sit behind a load balancer that
     * speaks HTTP/1.1 to them, and h2's streams let one connection ask for far more than it reads */
    globalconf.http1.upgrade_to_http2 = 0;
    pathconf = h2o_config_register_path(h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535),
                                        "/", 0);
    app.conf = &conf;
    routes_register(&app, pathconf);
    h2o_file_register(pathconf, conf.web_root, index_files, NULL, 0);
    metrics_register_logger(&app.metrics, pathconf);

    app.loop = h2o_evloop_create();
    h2o_context_init(&ctx, app.loop, &globalconf);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = globalconf.hosts;

    /* Redis and sentinel host names are looked up on h2o's resolver threads, never on the loop; a few threads,
     * so that one name that does not resolve does not hold up the others */
    h2o_hostinfo_max_threads = 4;
    app.store = store_new(app.loop, &ctx.receivers.hostinfo_getaddr, &conf,
                          &(struct store_listener){on_store_ready, on_store_lost, &app});
    app.mirror = mirror_new(app.loop, &conf, app.store,
                            &(struct mirror_listener){on_mirror_change, on_mirror_ping, on_mirror_synced, &app});
    app.feed = feed_new(app.loop, &conf, app.mirror);
    app.expiry = expiry_new(app.loop, &conf, app.store, may_expire, &app);
    app.figures = figures_new(app.loop, app.store, app.mirror, app.conf);
    app.alerts = alerts_new(app.loop, &conf, app.store, app.mirror, app.figures);
    app.alert_sender = alert_sender_new(app.loop, &conf, app.store);
    app.subscriber_messages = subscriber_messages_new(app.loop, &conf);
    app.subscriber_sender = subscriber_sender_new(app.loop, &conf, app.store, app.subscriber_messages);
    app.history = history_new(app.loop, app.store, &conf);
    app.log_cache = log_cache_new(app.loop, app.store, app.mirror);
    {
        char feed_id[128];
        snprintf(feed_id, sizeof(feed_id), "urn:glance:%s:incidents", conf.prefix);
        app.incidents = incidents_new(app.loop, app.store, feed_id);
    }
    app.latency = latency_new(app.loop, app.store, app.figures, app.mirror, app.conf);
    app.summary = summary_new(conf.num_clusters);
    app.statuspage = statuspage_routes_new(conf.num_clusters);
    app.web_pages = web_pages_new(&conf);
    app.bus = bus_new(app.loop, &ctx.receivers.hostinfo_getaddr, &conf, app.store,
                      &(struct bus_listener){on_bus_subscribed, on_bus_lost, on_bus_event, on_bus_expired, &app});

    if ((listener.sock = h2o_evloop_socket_create(app.loop, fd, H2O_SOCKET_FLAG_DONT_READ)) == NULL) {
        fprintf(stderr, "glance-api: cannot watch the listening socket\n");
        return 1;
    }
    listener.loop = app.loop;
    listener.accept_ctx = &accept_ctx;
    listener.fd_ceiling = fd_limit > FD_RESERVE * 2 ? fd_limit - FD_RESERVE : fd_limit / 2;
    h2o_timeout_init(app.loop, &listener.pause, ACCEPT_PAUSE_MS);
    listener.resume.cb = on_resume;
    listener.sock->data = &listener;
    h2o_socket_read_start(listener.sock, on_accept);
    log_info("glance-api listening on %s:%u; %zu clusters; redis %s:%u db %u", conf.host, conf.port, conf.num_clusters,
             conf.redis.host, conf.redis.port, conf.redis.db);

    while (!stop_requested)
        h2o_evloop_run(app.loop, 100);

    /* Leave rotation first: /readyz answers 503 while requests and feeds are still served, until the load
     * balancer has seen it (its checks, not the connections it already holds, decide where new work goes). */
    app.shutting_down = 1;
    if (conf.drain_ms != 0) {
        log_info("draining: /readyz answers 503 for %u ms before the replica stops accepting", (unsigned)conf.drain_ms);
        deadline = h2o_now(app.loop) + conf.drain_ms;
        while (stop_requested < 2 && h2o_now(app.loop) < deadline)
            h2o_evloop_run(app.loop, 10);
    }

    /* stop taking new work, let browsers move to another replica, finish what was asked */
    log_info("shutting down");
    if (h2o_timeout_is_linked(&listener.resume))
        h2o_timeout_unlink(&listener.resume);
    else
        h2o_socket_read_stop(listener.sock);
    h2o_socket_close(listener.sock);
    feed_shutdown(app.feed);
    h2o_context_request_shutdown(&ctx);
    deadline = h2o_now(app.loop) + SHUTDOWN_GRACE_MS;
    feed_deadline = h2o_now(app.loop) + FEED_CLOSE_GRACE_MS;
    for (;;) {
        struct feed_stats fs;
        feed_get_stats(app.feed, &fs);
        if (fs.clients != 0 && h2o_now(app.loop) > feed_deadline) {
            feed_drop_all(app.feed);
            fs.clients = 0;
        }
        if ((app.inflight == 0 && fs.clients == 0) || h2o_now(app.loop) > deadline)
            break;
        h2o_evloop_run(app.loop, 10);
    }
    /* a last turn writes the final responses out */
    deadline = h2o_now(app.loop) + 100;
    while (h2o_now(app.loop) < deadline)
        h2o_evloop_run(app.loop, 10);

    /* the store first: a heartbeat it still carries is answered (with an error) to the bus */
    store_free(app.store);
    alerts_free(app.alerts);
    alert_sender_free(app.alert_sender);
    subscriber_sender_free(app.subscriber_sender);
    subscriber_messages_free(app.subscriber_messages);
    history_free(app.history);
    log_cache_free(app.log_cache);
    incidents_free(app.incidents);
    latency_free(app.latency); /* after the store, whose last replies it may get */
    figures_free(app.figures);
    summary_free(app.summary);
    statuspage_routes_free(app.statuspage);
    web_pages_free(app.web_pages);
    bus_free(app.bus);
    expiry_free(app.expiry);
    feed_free(app.feed);
    mirror_free(app.mirror);
    if (!h2o_linklist_is_empty(&ctx.http1._conns) || !h2o_linklist_is_empty(&ctx.http2._conns)) {
        /* Idle keep-alive connections (a load balancer keeps some) stay linked in h2o 2.2.5's timeouts, and
         * disposing of the context then aborts; every request is answered by now, so let the kernel close them. */
        log_info("stopped; idle connections closed at exit");
        _exit(0);
    }
    /* h2o 2.2.5's shutdown request leaves its HTTP/2 GOAWAY timer linked, which context_dispose asserts against */
    if (h2o_timeout_is_linked(&ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&ctx);
    h2o_config_dispose(&globalconf);
    routes_dispose(&app);
    /* sockets closed above are disposed of on the loop's next turn */
    h2o_evloop_run(app.loop, 0);
    h2o_timeout_dispose(app.loop, &listener.pause);
    h2o_evloop_destroy(app.loop);
    free(env.text);
    log_info("stopped");
    return 0;
}
