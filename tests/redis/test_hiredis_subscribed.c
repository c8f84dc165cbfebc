/* test_hiredis_subscribed.c -- pins how the linked hiredis routes the replies of a subscribed connection, which
 * bus.c relies on; against a redis-server of its own, on an h2o loop through redis_h2o.c. Fails on hiredis 1.x. */

/* The version-specific behaviour, as hiredis 0.14.1's async.c implements it (our summary, not its text):
 *
 * 1. __redisAsyncCommand: SUBSCRIBE a b (PSUBSCRIBE) files the command's callback in the dictionary
 *    ac->sub.channels (ac->sub.patterns) under every name it lists and marks the context subscribed; nothing
 *    goes into the ordinary queue ac->replies. Any other command sent while subscribed -- PING too -- has its
 *    callback appended to a second queue, ac->sub.invalid.
 * 2. redisProcessCallbacks: while ac->replies is empty, each reply is routed by __redisGetSubscribeCallback.
 *    For an array it picks the dictionary by the first letter of element 0 ('p' or 'P': patterns, anything
 *    else: channels) and looks element 1 up as the name. ["subscribe", ch, n] and ["message", ch, payload]
 *    therefore reach the SUBSCRIBE's callback, with its privdata. Only a reply that is not an array (an error)
 *    takes the oldest callback from ac->sub.invalid.
 * 3. Redis answers a PING on a subscribed (RESP2) connection with the array ["pong", ""]. By rule 2 hiredis
 *    looks "" up among the *pattern* subscriptions, finds nothing, and frees the reply unseen: the PING's
 *    callback is not called and stays in ac->sub.invalid (where an error reply to a later command would find
 *    it first). A PING thus proves nothing about a subscription; a message published on a subscribed channel
 *    does, and it still arrives after such a PING.
 * 4. The lookup in rule 2 fills redisProcessCallbacks' callback variable only on a hit, and that variable
 *    lives across the whole loop over the replies of one read. An unmatched reply that comes in the same read
 *    after a matched one is handed to the matched one's callback: a pong read together with a subscribe
 *    confirmation (or a message) goes to the SUBSCRIBE's callback, which must tolerate ["pong", ""].
 * 5. __redisAsyncFree (run by redisAsyncFree and by every disconnect, from either side) calls, with a NULL
 *    reply: the callbacks left in ac->replies, then those in ac->sub.invalid (the PING's, once), then the
 *    callback of every channel and every pattern (once per name). Only there does the PING's callback run.
 *
 * hiredis 1.x differs (pull request 1027 for issue 351, among others): only arrays of 3 or more elements are
 * treated as pub/sub messages, so a pong goes to the PING's callback through ac->sub.replies, and the callback
 * variable is fresh for every reply. On another hiredis version, re-check points 1 to 5 against its async.c,
 * and services/api/redis/bus.c (its heartbeats rely on rule 2; it sends no PING because of rule 3, and its callback
 * tolerates rule 4), before changing the pins below. */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include "redis/redis_h2o.h"
#include "../unit/check.h"

/* How long any one wait may take before the test gives up on it. */
#define WAIT_MS 5000

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

/* Turns the loop, 10 ms at a time, until `cond` holds or WAIT_MS have passed; the caller then checks `cond`. */
#define WAIT_FOR(loop, cond)                                                                                           \
    do {                                                                                                               \
        uint64_t wait_deadline = now_ms() + WAIT_MS;                                                                   \
        while (!(cond) && now_ms() < wait_deadline)                                                                    \
            h2o_evloop_run((loop), 10);                                                                                \
    } while (0)

/* A redis-server of the test's own. */
struct server {
    pid_t pid; /* -1 when none runs */
    unsigned short port;
};

/* Finds a loopback port that is free right now. Returns 0, or -1 with the reason in err. */
static int free_port(unsigned short *port, char *err, size_t errlen)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    int fd;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        snprintf(err, errlen, "bind 127.0.0.1:0: %s", strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    *port = ntohs(sin.sin_port);
    return 0;
}

/* Returns 1 when something accepts a TCP connection on the loopback port, 0 otherwise. */
static int accepts(unsigned short port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd, ok;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        return 0;
    ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

/* Kills the server, if one runs, and reaps it. */
static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = -1;
}

/* One attempt of server_start. Returns 0 when the server accepts connections, 1 when it exited first (another
 * program may have taken the port in between), or -1 with the reason in err; only on 0 is a server left running. */
static int server_try(struct server *s, const char *bin, char *err, size_t errlen)
{
    pid_t parent = getpid();
    char port[8];
    uint64_t deadline;
    int status;

    if (free_port(&s->port, err, errlen) != 0)
        return -1;
    snprintf(port, sizeof(port), "%u", (unsigned)s->port);
    if ((s->pid = fork()) == -1) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (s->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        /* the server goes when this test goes, even when the test crashes before server_stop() */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        if (null != -1)
            dup2(null, STDOUT_FILENO);
        execlp(bin, bin, "--port", port, "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--loglevel",
               "warning", (char *)NULL);
        _exit(127);
    }
    deadline = now_ms() + WAIT_MS;
    do {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = -1;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
                snprintf(err, errlen, "cannot run %s (set GLANCE_REDIS_SERVER to its path)", bin);
                return -1;
            }
            snprintf(err, errlen, "%s exited before accepting connections on port %s", bin, port);
            return 1;
        }
        if (accepts(s->port))
            return 0;
        sleep_ms(10);
    } while (now_ms() < deadline);
    server_stop(s);
    snprintf(err, errlen, "%s did not accept connections on port %s within %d ms", bin, port, WAIT_MS);
    return -1;
}

/* Starts redis-server ($GLANCE_REDIS_SERVER, else the one on PATH) on a free loopback port, without persistence,
 * and waits until it accepts connections. Returns 0, or -1 with the reason in err and no server running. */
static int server_start(struct server *s, char *err, size_t errlen)
{
    const char *bin = getenv("GLANCE_REDIS_SERVER");
    int attempt, ret = -1;

    if (bin == NULL || *bin == '\0')
        bin = "redis-server";
    for (attempt = 0; attempt != 3; ++attempt)
        if ((ret = server_try(s, bin, err, errlen)) != 1)
            break;
    return ret == 0 ? 0 : -1;
}

enum { CH1, CH2, CH3, NCHANNELS };
static const char *const channel_names[NCHANNELS] = {"ch1", "ch2", "ch3"};

/* What the SUBSCRIBE's callback has been handed, by kind and by channel. */
struct subscription_log {
    unsigned confirmations[NCHANNELS];
    long long confirmed_count[NCHANNELS]; /* the n of the last ["subscribe", ch, n] */
    unsigned messages[NCHANNELS];
    char last_payload[NCHANNELS][32];
    unsigned pongs;      /* ["pong", ""] */
    unsigned nulls;      /* a NULL reply */
    unsigned unexpected; /* anything else */
};

/* What the PING's callback has been handed. */
struct ping_log {
    unsigned calls;
    unsigned nulls;
};

struct fixture {
    struct server server;
    h2o_loop_t *loop;
    redisAsyncContext *sub; /* the subscriber; NULL once hiredis or the test has freed it */
    redisAsyncContext *pub; /* an ordinary connection that publishes */
    unsigned connected, connect_failures;
    unsigned sub_disconnects;
    int sub_disconnect_status;
    struct subscription_log seen;
    struct ping_log ping;
    unsigned pub_replies;    /* replies to the publisher's commands */
    long long last_integer; /* the last integer among them */
};

static int reply_is(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

static int channel_index(const redisReply *r)
{
    int i;

    for (i = 0; i != NCHANNELS; ++i)
        if (reply_is(r, channel_names[i]))
            return i;
    return -1;
}

/* The SUBSCRIBE's callback: sorts what it is handed into the subscription_log given as privdata. */
static void on_subscription(redisAsyncContext *ac, void *r, void *privdata)
{
    struct subscription_log *seen = privdata;
    redisReply *reply = r;
    int i;

    if (reply == NULL) {
        ++seen->nulls;
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 || reply->element[0]->type != REDIS_REPLY_STRING) {
        ++seen->unexpected;
        return;
    }
    if (reply->elements == 2 && reply_is(reply->element[0], "pong") && reply_is(reply->element[1], "")) {
        ++seen->pongs;
        return;
    }
    if (reply->elements != 3 || (i = channel_index(reply->element[1])) < 0) {
        ++seen->unexpected;
        return;
    }
    if (reply_is(reply->element[0], "subscribe") && reply->element[2]->type == REDIS_REPLY_INTEGER) {
        ++seen->confirmations[i];
        seen->confirmed_count[i] = reply->element[2]->integer;
    } else if (reply_is(reply->element[0], "message") && reply->element[2]->type == REDIS_REPLY_STRING) {
        ++seen->messages[i];
        snprintf(seen->last_payload[i], sizeof(seen->last_payload[i]), "%.*s", (int)reply->element[2]->len,
                 reply->element[2]->str);
    } else {
        ++seen->unexpected;
    }
}

static void on_ping(redisAsyncContext *ac, void *r, void *privdata)
{
    struct ping_log *ping = privdata;

    ++ping->calls;
    if (r == NULL)
        ++ping->nulls;
}

static void on_publisher_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct fixture *f = privdata;
    redisReply *reply = r;

    if (reply == NULL)
        return;
    ++f->pub_replies;
    if (reply->type == REDIS_REPLY_INTEGER)
        f->last_integer = reply->integer;
}

/* hiredis frees a context after a failed connect and after a disconnect; the fixture must not touch it again. */
static void forget(struct fixture *f, const redisAsyncContext *ac)
{
    if (f->sub == ac)
        f->sub = NULL;
    if (f->pub == ac)
        f->pub = NULL;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct fixture *f = ac->data;

    if (status == REDIS_OK) {
        ++f->connected;
    } else {
        ++f->connect_failures;
        forget(f, ac);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct fixture *f = ac->data;

    if (ac == f->sub) {
        ++f->sub_disconnects;
        f->sub_disconnect_status = status;
    }
    forget(f, ac);
}

/* Starts connecting a context to the fixture's server on its loop. Returns 0, or -1 with the reason in err. */
static int connect_context(struct fixture *f, redisAsyncContext **slot, char *err, size_t errlen)
{
    redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", f->server.port);

    if (ac == NULL) {
        snprintf(err, errlen, "redisAsyncConnect: out of memory");
        return -1;
    }
    if (ac->err != 0) {
        snprintf(err, errlen, "connect 127.0.0.1:%u: %s", (unsigned)f->server.port, ac->errstr);
        redisAsyncFree(ac);
        return -1;
    }
    if (redis_h2o_attach(ac, f->loop) != 0) {
        snprintf(err, errlen, "redis_h2o_attach failed");
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = f;
    /* after the attach: setting the connect callback already asks the event library for writability */
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    *slot = ac;
    return 0;
}

/* Frees whatever the fixture still holds: contexts (whose callbacks then run with NULL), loop, server. */
static void fixture_close(struct fixture *f)
{
    if (f->sub != NULL)
        redisAsyncFree(f->sub);
    f->sub = NULL;
    if (f->pub != NULL)
        redisAsyncFree(f->pub);
    f->pub = NULL;
    if (f->loop != NULL)
        h2o_evloop_destroy(f->loop);
    f->loop = NULL;
    server_stop(&f->server);
}

/* Starts a server and connects a subscriber and a publisher to it. Returns 0, or -1 with the reason in err and
 * nothing left open. */
static int fixture_open(struct fixture *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->server.pid = -1;
    if (server_start(&f->server, err, errlen) != 0)
        return -1;
    f->loop = h2o_evloop_create();
    if (connect_context(f, &f->sub, err, errlen) != 0 || connect_context(f, &f->pub, err, errlen) != 0)
        goto Error;
    WAIT_FOR(f->loop, f->connected + f->connect_failures == 2);
    if (f->connected != 2) {
        snprintf(err, errlen, "%u of 2 connections to 127.0.0.1:%u were made", f->connected,
                 (unsigned)f->server.port);
        goto Error;
    }
    return 0;
Error:
    fixture_close(f);
    return -1;
}

/* Opens the fixture, reporting a failure as a failed check. */
static int open_or_fail(struct check *chk, struct fixture *f)
{
    char err[256];

    if (CHECK(fixture_open(f, err, sizeof(err)) == 0))
        return 1;
    fprintf(stderr, "  %s\n", err);
    return 0;
}

/* SUBSCRIBE ch1 ch2 on the subscriber, and both confirmations handed to its callback. */
static int subscribe_ch1_ch2(struct check *chk, struct fixture *f)
{
    if (!CHECK(redisAsyncCommand(f->sub, on_subscription, &f->seen, "SUBSCRIBE ch1 ch2") == REDIS_OK))
        return 0;
    WAIT_FOR(f->loop, f->seen.confirmations[CH1] + f->seen.confirmations[CH2] == 2);
    return CHECK_EQ_U64(f->seen.confirmations[CH1], 1) && CHECK_EQ_U64(f->seen.confirmations[CH2], 1);
}

/* PING on the subscribed connection, followed by SUBSCRIBE ch3: Redis answers a connection's commands in order,
 * so once ch3 is confirmed the pong has been read and routed, whatever hiredis did with it. */
static int ping_until_answered(struct check *chk, struct fixture *f)
{
    if (!CHECK(redisAsyncCommand(f->sub, on_ping, &f->ping, "PING") == REDIS_OK) ||
        !CHECK(redisAsyncCommand(f->sub, on_subscription, &f->seen, "SUBSCRIBE ch3") == REDIS_OK))
        return 0;
    WAIT_FOR(f->loop, f->seen.confirmations[CH3] == 1);
    return CHECK_EQ_U64(f->seen.confirmations[CH3], 1);
}

/* PUBLISH on the publisher; the reply, the number of receivers, must say 1. */
static int publish(struct check *chk, struct fixture *f, const char *channel, const char *payload)
{
    unsigned before = f->pub_replies;

    if (!CHECK(redisAsyncCommand(f->pub, on_publisher_reply, f, "PUBLISH %s %s", channel, payload) == REDIS_OK))
        return 0;
    WAIT_FOR(f->loop, f->pub_replies != before);
    return CHECK_EQ_U64(f->pub_replies, before + 1) && CHECK(f->last_integer == 1);
}

TEST(test_hiredis_is_version_0_14)
{
    Dl_info info;

    if (!CHECK(HIREDIS_MAJOR == 0 && HIREDIS_MINOR == 14))
        fprintf(stderr, "  built against hiredis %d.%d.%d: re-check points 1 to 5 atop %s and the PING handling in "
                        "services/api/redis/bus.c, then update the pins\n",
                HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH, __FILE__);
    /* the library loaded at run time, not only the header: Debian names it libhiredis.so.0.14 */
    if (CHECK(dladdr((void *)redisAsyncCommand, &info) != 0 && info.dli_fname != NULL))
        if (!CHECK(strstr(info.dli_fname, "libhiredis.so.0.14") != NULL))
            fprintf(stderr, "  hiredis is loaded from %s: re-check points 1 to 5 atop %s\n", info.dli_fname, __FILE__);
}

/* The premise of point 3, about Redis rather than hiredis: checked with hiredis' blocking API. */
TEST(test_redis_answers_a_subscribed_ping_with_pong_and_an_empty_string)
{
    struct server s = {-1, 0};
    redisContext *c = NULL;
    redisReply *r = NULL;
    char err[256];

    if (!CHECK(server_start(&s, err, sizeof(err)) == 0)) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    c = redisConnect("127.0.0.1", s.port);
    if (!CHECK(c != NULL && c->err == 0))
        goto Exit;
    r = redisCommand(c, "SUBSCRIBE ch1");
    if (!CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && reply_is(r->element[0], "subscribe")))
        goto Exit;
    freeReplyObject(r);
    r = redisCommand(c, "PING");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && reply_is(r->element[0], "pong") &&
          reply_is(r->element[1], ""));
Exit:
    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    server_stop(&s);
}

/* Points 1 and 2. */
TEST(test_subscribe_confirmations_and_messages_reach_the_subscribe_callback_by_channel)
{
    struct fixture f;

    if (!open_or_fail(chk, &f))
        return;
    if (!subscribe_ch1_ch2(chk, &f))
        goto Exit;
    CHECK(f.seen.confirmed_count[CH1] == 1);
    CHECK(f.seen.confirmed_count[CH2] == 2);
    if (!publish(chk, &f, "ch1", "one") || !publish(chk, &f, "ch2", "two"))
        goto Exit;
    WAIT_FOR(f.loop, f.seen.messages[CH1] + f.seen.messages[CH2] == 2);
    CHECK_EQ_U64(f.seen.messages[CH1], 1);
    CHECK_STR(f.seen.last_payload[CH1], "one");
    CHECK_EQ_U64(f.seen.messages[CH2], 1);
    CHECK_STR(f.seen.last_payload[CH2], "two");
    CHECK_EQ_U64(f.seen.unexpected, 0);
    CHECK_EQ_U64(f.seen.nulls, 0);
Exit:
    fixture_close(&f);
}

/* Point 3: the pong is dropped, neither the PING's callback nor the subscription's sees it. */
TEST(test_a_ping_on_a_subscribed_connection_never_reaches_its_callback)
{
    struct fixture f;

    if (!open_or_fail(chk, &f))
        return;
    if (subscribe_ch1_ch2(chk, &f) && ping_until_answered(chk, &f)) {
        h2o_evloop_run(f.loop, 50); /* a last chance for anything late */
        CHECK_EQ_U64(f.ping.calls, 0);
        CHECK_EQ_U64(f.seen.pongs, 0);
        CHECK_EQ_U64(f.seen.unexpected, 0);
    }
    fixture_close(&f);
}

/* Point 3: what does prove the subscription alive. */
TEST(test_after_an_unanswered_ping_a_published_message_still_arrives)
{
    struct fixture f;

    if (!open_or_fail(chk, &f))
        return;
    if (subscribe_ch1_ch2(chk, &f) && ping_until_answered(chk, &f) && publish(chk, &f, "ch1", "alive")) {
        WAIT_FOR(f.loop, f.seen.messages[CH1] == 1);
        CHECK_EQ_U64(f.seen.messages[CH1], 1);
        CHECK_STR(f.seen.last_payload[CH1], "alive");
        CHECK_EQ_U64(f.ping.calls, 0);
    }
    fixture_close(&f);
}

/* Point 5, through redisAsyncFree. */
TEST(test_freeing_the_context_calls_the_ping_and_every_channel_callback_with_null)
{
    struct fixture f;

    if (!open_or_fail(chk, &f))
        return;
    if (subscribe_ch1_ch2(chk, &f) && ping_until_answered(chk, &f) && CHECK_EQ_U64(f.ping.calls, 0)) {
        redisAsyncFree(f.sub);
        CHECK(f.sub == NULL); /* on_disconnect ran */
        f.sub = NULL;
        CHECK_EQ_U64(f.ping.calls, 1);
        CHECK_EQ_U64(f.ping.nulls, 1);
        CHECK_EQ_U64(f.seen.nulls, NCHANNELS); /* ch1, ch2, ch3 */
    }
    fixture_close(&f);
}

/* Point 5, through a disconnect from the server's side. */
TEST(test_a_server_side_disconnect_calls_the_ping_and_every_channel_callback_with_null)
{
    struct fixture f;

    if (!open_or_fail(chk, &f))
        return;
    if (subscribe_ch1_ch2(chk, &f) && ping_until_answered(chk, &f) && CHECK_EQ_U64(f.ping.calls, 0) &&
        CHECK(redisAsyncCommand(f.pub, on_publisher_reply, &f, "CLIENT KILL TYPE pubsub") == REDIS_OK)) {
        WAIT_FOR(f.loop, f.sub == NULL);
        if (CHECK(f.sub == NULL)) {
            CHECK_EQ_U64(f.sub_disconnects, 1);
            CHECK(f.sub_disconnect_status == REDIS_ERR);
            CHECK_EQ_U64(f.ping.calls, 1);
            CHECK_EQ_U64(f.ping.nulls, 1);
            CHECK_EQ_U64(f.seen.nulls, NCHANNELS);
        }
    }
    fixture_close(&f);
}

/* Point 4. SUBSCRIBE and PING leave in one write, so Redis reads them together and answers both in one write,
 * which hiredis reads at once: the confirmation, then the pong. */
TEST(test_a_pong_read_together_with_a_confirmation_goes_to_the_subscribe_callback)
{
    struct fixture f;

    if (!open_or_fail(chk, &f))
        return;
    if (CHECK(redisAsyncCommand(f.sub, on_subscription, &f.seen, "SUBSCRIBE ch1") == REDIS_OK) &&
        CHECK(redisAsyncCommand(f.sub, on_ping, &f.ping, "PING") == REDIS_OK)) {
        WAIT_FOR(f.loop, f.seen.confirmations[CH1] == 1 && f.seen.pongs + f.ping.calls != 0);
        CHECK_EQ_U64(f.seen.confirmations[CH1], 1);
        CHECK_EQ_U64(f.seen.pongs, 1);
        CHECK_EQ_U64(f.ping.calls, 0);
        CHECK_EQ_U64(f.seen.unexpected, 0);
    }
    fixture_close(&f);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_hiredis_is_version_0_14),
        CHECK_CASE(test_redis_answers_a_subscribed_ping_with_pong_and_an_empty_string),
        CHECK_CASE(test_subscribe_confirmations_and_messages_reach_the_subscribe_callback_by_channel),
        CHECK_CASE(test_a_ping_on_a_subscribed_connection_never_reaches_its_callback),
        CHECK_CASE(test_after_an_unanswered_ping_a_published_message_still_arrives),
        CHECK_CASE(test_freeing_the_context_calls_the_ping_and_every_channel_callback_with_null),
        CHECK_CASE(test_a_server_side_disconnect_calls_the_ping_and_every_channel_callback_with_null),
        CHECK_CASE(test_a_pong_read_together_with_a_confirmation_goes_to_the_subscribe_callback),
    };

    /* a write to a connection the server has just closed must fail, not end the test */
    signal(SIGPIPE, SIG_IGN);
    return CHECK_RUN(cases);
}
