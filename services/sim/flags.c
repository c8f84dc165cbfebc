/* flags.c -- glance-sim's command line into a read-only struct sim_flags; every error names the flag. */
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bot_figures.h"

const char flags_usage[] =
    "usage: glance-sim --url http://HOST:PORT [options]\n"
    "  --clusters NAME:SHARDS;...  the fleet (default: $GLANCE_BOTS)\n"
    "  --no-fleet                  viewers only: post nothing\n"
    "  --ping-interval SECONDS     health ping period per shard (default 10)\n"
    "  --jitter FRACTION           each period is scaled by 1 +- this (default 0.2)\n"
    "  --figures                   send each shard's figures: latency_ms (25-90 ms; now and then a shard is\n"
    "                              slow, 300-1500 ms, for 30-120 s), guilds (1000-2200), unavailable_guilds\n"
    "                              (a few while it resumes, reconnects or restarts); as query parameters of\n"
    "                              single POSTs, as fields of batch items (default: none, the original API)\n"
    "  --batch N                   pings go N shards to a request, JSON to /api/clusters/NAME/report (each\n"
    "                              run of N shard ids pings together, like a process of a sharded bot);\n"
    "                              state changes stay one POST each (at most 1000; default 0: a POST per ping)\n"
    "  --rate CHANGES_PER_SECOND   state changes after the boot, on average (default 2)\n"
    "  --mix KIND=W,...            resume, disconnect, silent, restart weights\n"
    "                              (default resume=0.6,disconnect=0.2,silent=0.15,restart=0.05)\n"
    "  --troubled FRACTION         resumes, disconnects and silences fall on this share of each cluster's\n"
    "                              shards, spread over it, the others only restart with their cluster, as\n"
    "                              trouble gathers on a few shards in a real fleet (default 1: on any shard)\n"
    "  --boot-spread SECONDS       shards start within this time (default 0: at once)\n"
    "  --health-timeout SECONDS    the server's GLANCE_HEALTH_TIMEOUT; silent shards stay silent longer (30)\n"
    "  --connections N             keep-alive connections for the POSTs (default 8)\n"
    "  --viewers K                 WebSocket feed clients that time every change (default 0)\n"
    "  --viewer-rate PER_SECOND    viewer connections started per second (default 0: all at once)\n"
    "  --duration SECONDS          length of the measured phase; 0 runs until SIGTERM (default 0)\n"
    "  --boot-limit SECONDS        with --duration: give up when the boot and the viewers' hellos take longer (120)\n"
    "  --passphrase P              sent as Authorization (default: $GLANCE_PASSPHRASE)\n"
    "  --report json|text          the report printed at the end (default text)\n"
    "  --seed N                    random seed (default: from the clock)\n"
    "gateway trouble (issue 28), each off by default:\n"
    "  --gateway                   send each shard's gateway counters with its figures (turns --figures on):\n"
    "                              events (0.5-3 a second per 100 guilds while online), resumes, identifies,\n"
    "                              disconnects, all back to 0 when its process restarts; and each cluster's\n"
    "                              identify budget to /api/clusters/NAME/gateway at start, hourly, and a few\n"
    "                              seconds after its shards identify (1000 a day, one less per identify)\n"
    "  --max-concurrency N         the budget's max_concurrency (default 1)\n"
    "  --zombies N                 N shards (with --gateway) whose connection goes quiet: they stay online and\n"
    "                              keep pinging with the same latency, but their events stop growing\n"
    "  --zombie-after SECONDS      a zombie goes quiet this long after each time it comes online (default 60)\n"
    "  --near-cap N                N shards (with --figures) serving 2,300-2,499 guilds, near the 2,500 cap;\n"
    "                              the others stay at 1,000-2,200\n"
    "  --restart-loop NAME         cluster NAME restarts over and over, every --loop-every, burning its identify\n"
    "                              budget (a storm of identifies)\n"
    "  --loop-every SECONDS        how often the looping cluster restarts, +- 20 % (default 60)\n"
    "  --loop-budget N             the looping cluster's identify budget left when the run starts (default:\n"
    "                              twice its shards: the loop has been burning it before; at most 1000)\n";

static const char *const event_names[FLAGS_NUM_EVENTS] = {"resume", "disconnect", "silent", "restart"};

void flags_defaults(struct sim_flags *f)
{
    memset(f, 0, sizeof(*f));
    f->fleet = 1;
    f->ping_interval_s = 10;
    f->jitter = 0.2;
    f->rate = 2;
    f->mix[FLAGS_RESUME] = 0.6;
    f->mix[FLAGS_DISCONNECT] = 0.2;
    f->mix[FLAGS_SILENT] = 0.15;
    f->mix[FLAGS_RESTART] = 0.05;
    f->troubled = 1;
    f->health_timeout_s = 30;
    f->connections = 8;
    f->boot_limit_s = 120;
    f->max_concurrency = 1;
    f->zombie_after_s = 60;
    f->loop_cluster = -1;
    f->loop_every_s = 60;
}

static int valid_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '-';
}

int flags_set_clusters(struct sim_flags *f, const char *spec, char *err, size_t errlen)
{
    const char *p = spec;
    size_t n = 0;

    while (*p != '\0') {
        const char *end = strchr(p, ';'), *colon;
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p), name_len, i;
        unsigned long long shards = 0;

        if (len == 0) { /* a trailing or doubled ';' */
            p += 1;
            continue;
        }
        colon = memchr(p, ':', len);
        name_len = colon != NULL ? (size_t)(colon - p) : 0;
        if (colon == NULL || name_len == 0 || name_len > 64 || colon + 1 == p + len) {
            snprintf(err, errlen, "--clusters \"%s\": expected NAME:SHARDS;NAME:SHARDS", spec);
            return -1;
        }
        for (i = 0; i != name_len; ++i)
            if (!valid_name_char((unsigned char)p[i])) {
                snprintf(err, errlen, "--clusters \"%s\": cluster names are 1 to 64 of [A-Za-z0-9_.-]", spec);
                return -1;
            }
        for (i = name_len + 1; i != len; ++i) {
            if (!isdigit((unsigned char)p[i]) || shards > FLAGS_MAX_SHARDS) {
                shards = 0;
                break;
            }
            shards = shards * 10 + (unsigned)(p[i] - '0');
        }
        if (shards == 0 || shards > FLAGS_MAX_SHARDS) {
            snprintf(err, errlen, "--clusters \"%s\": shard counts are whole numbers from 1 to %u", spec,
                     FLAGS_MAX_SHARDS);
            return -1;
        }
        if (n == FLAGS_MAX_CLUSTERS) {
            snprintf(err, errlen, "--clusters \"%s\": at most %d clusters", spec, FLAGS_MAX_CLUSTERS);
            return -1;
        }
        memcpy(f->clusters[n].name, p, name_len);
        f->clusters[n].name[name_len] = '\0';
        f->clusters[n].name_len = name_len;
        f->clusters[n].shards = (uint32_t)shards;
        ++n;
        p += len;
        if (*p == ';')
            ++p;
    }
    if (n == 0) {
        snprintf(err, errlen, "--clusters \"%s\": expected at least one NAME:SHARDS", spec);
        return -1;
    }
    f->num_clusters = n;
    return 0;
}

int flags_set_url(struct sim_flags *f, const char *url, char *err, size_t errlen)
{
    static const char scheme[] = "http://";
    const char *host = url + sizeof(scheme) - 1, *end, *colon;
    size_t host_len;
    unsigned long port = 80;

    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
        snprintf(err, errlen, "--url \"%s\": expected http://HOST[:PORT]", url);
        return -1;
    }
    end = host + strcspn(host, "/");
    if (*end == '/' && end[1] != '\0') {
        snprintf(err, errlen, "--url \"%s\": give the base URL, without a path", url);
        return -1;
    }
    if (*host == '[') { /* [::1]:8080 */
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL) {
            snprintf(err, errlen, "--url \"%s\": unclosed '['", url);
            return -1;
        }
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        host_len = (size_t)(close - host - 1);
        ++host;
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
        host_len = (size_t)((colon != NULL ? colon : end) - host);
    }
    if (host_len == 0 || host_len >= sizeof(f->host)) {
        snprintf(err, errlen, "--url \"%s\": expected a host name or address", url);
        return -1;
    }
    if (colon != NULL) {
        char *stop;
        errno = 0;
        port = strtoul(colon + 1, &stop, 10);
        if (stop != end || colon + 1 == end || errno != 0 || port == 0 || port > 65535) {
            snprintf(err, errlen, "--url \"%s\": the port is a number from 1 to 65535", url);
            return -1;
        }
    }
    memcpy(f->host, host, host_len);
    f->host[host_len] = '\0';
    f->port = (uint16_t)port;
    snprintf(f->host_header, sizeof(f->host_header), "%.*s", (int)(end - (url + sizeof(scheme) - 1)),
             url + sizeof(scheme) - 1);
    return 0;
}

int flags_set_mix(struct sim_flags *f, const char *spec, char *err, size_t errlen)
{
    double mix[FLAGS_NUM_EVENTS] = {0}, sum = 0;
    const char *p = spec;
    size_t i;

    while (*p != '\0') {
        size_t len = strcspn(p, ","), key_len;
        const char *eq = memchr(p, '=', len);
        char num[32], *stop;
        double w;

        if (eq == NULL || (size_t)(p + len - eq - 1) >= sizeof(num) || eq + 1 == p + len) {
            snprintf(err, errlen, "--mix \"%s\": expected KIND=WEIGHT,...", spec);
            return -1;
        }
        key_len = (size_t)(eq - p);
        memcpy(num, eq + 1, (size_t)(p + len - eq - 1));
        num[p + len - eq - 1] = '\0';
        w = strtod(num, &stop);
        if (*stop != '\0' || !isfinite(w) || w < 0) {
            snprintf(err, errlen, "--mix \"%s\": weights are numbers of 0 or more", spec);
            return -1;
        }
        for (i = 0; i != FLAGS_NUM_EVENTS; ++i)
            if (strlen(event_names[i]) == key_len && memcmp(event_names[i], p, key_len) == 0)
                break;
        if (i == FLAGS_NUM_EVENTS) {
            snprintf(err, errlen, "--mix \"%s\": kinds are resume, disconnect, silent and restart", spec);
            return -1;
        }
        mix[i] = w;
        p += len;
        if (*p == ',')
            ++p;
    }
    for (i = 0; i != FLAGS_NUM_EVENTS; ++i)
        sum += mix[i];
    if (sum <= 0) {
        snprintf(err, errlen, "--mix \"%s\": at least one weight must be above 0", spec);
        return -1;
    }
    for (i = 0; i != FLAGS_NUM_EVENTS; ++i)
        f->mix[i] = mix[i] / sum;
    return 0;
}

/* Parses a number within [min, max]. Returns 0, or -1 with the problem in err. */
static int number(const char *flag, const char *value, double min, double max, double *out, char *err,
                  size_t errlen)
{
    char *stop;
    double v;

    errno = 0;
    v = strtod(value, &stop);
    if (*value == '\0' || *stop != '\0' || errno != 0 || !isfinite(v) || v < min || v > max) {
        snprintf(err, errlen, "%s \"%s\": expected a number from %g to %g", flag, value, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int whole(const char *flag, const char *value, double min, double max, uint64_t *out, char *err,
                 size_t errlen)
{
    double v;

    if (number(flag, value, min, max, &v, err, errlen) != 0)
        return -1;
    if (v != floor(v)) {
        snprintf(err, errlen, "%s \"%s\": expected a whole number from %g to %g", flag, value, min, max);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* The gateway trouble flags against the fleet: resolves --restart-loop to a cluster. */
static int check_trouble(struct sim_flags *f, char *err, size_t errlen)
{
    uint64_t shards = 0;
    size_t c;

    f->loop_cluster = -1;
    for (c = 0; c != f->num_clusters; ++c) {
        shards += f->clusters[c].shards;
        if (strcmp(f->clusters[c].name, f->loop_name) == 0)
            f->loop_cluster = (int)c;
    }
    if (f->loop_name[0] != '\0' && f->loop_cluster < 0) {
        snprintf(err, errlen, "--restart-loop \"%s\": no such cluster in --clusters", f->loop_name);
        return -1;
    }
    if (f->zombies != 0 && !f->gateway) {
        snprintf(err, errlen, "--zombies: needs --gateway (a zombie is told by its events, which --gateway sends)");
        return -1;
    }
    if (f->near_cap != 0 && !f->figures) {
        snprintf(err, errlen, "--near-cap: needs --figures (or --gateway): guilds travel with the figures");
        return -1;
    }
    if (f->fleet && (uint64_t)f->zombies + f->near_cap > shards) {
        snprintf(err, errlen, "--zombies %u and --near-cap %u: more than the fleet's %llu shards", f->zombies,
                 f->near_cap, (unsigned long long)shards);
        return -1;
    }
    return 0;
}

int flags_parse(struct sim_flags *f, int argc, char **argv, char *err, size_t errlen)
{
    int i, have_url = f->host[0] != '\0';

    for (i = 1; i < argc; ++i) {
        char name[64];
        const char *arg = argv[i], *value = NULL, *eq;
        uint64_t u;
        int rc = 0;

        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "\"%s\": expected an option (see --help)", arg);
            return -1;
        }
        if ((eq = strchr(arg, '=')) != NULL) {
            snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
            value = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", arg);
        }
        if (strcmp(name, "--no-fleet") == 0 || strcmp(name, "--figures") == 0 || strcmp(name, "--gateway") == 0) {
            if (value != NULL) {
                snprintf(err, errlen, "%s takes no value", name);
                return -1;
            }
            if (strcmp(name, "--no-fleet") == 0)
                f->fleet = 0;
            else if (strcmp(name, "--figures") == 0)
                f->figures = 1;
            else
                f->gateway = f->figures = 1; /* the counters travel with the figures */
            continue;
        }
        if (value == NULL) {
            if (i + 1 == argc) {
                snprintf(err, errlen, "%s: expected a value after it", name);
                return -1;
            }
            value = argv[++i];
        }
        if (strcmp(name, "--url") == 0) {
            rc = flags_set_url(f, value, err, errlen);
            have_url = 1;
        } else if (strcmp(name, "--clusters") == 0) {
            rc = flags_set_clusters(f, value, err, errlen);
        } else if (strcmp(name, "--ping-interval") == 0) {
            rc = number(name, value, 0.01, 86400, &f->ping_interval_s, err, errlen);
        } else if (strcmp(name, "--jitter") == 0) {
            rc = number(name, value, 0, 0.9, &f->jitter, err, errlen);
        } else if (strcmp(name, "--batch") == 0) {
            if ((rc = whole(name, value, 0, BOT_FIGURES_MAX_BATCH, &u, err, errlen)) == 0)
                f->batch = (uint32_t)u;
        } else if (strcmp(name, "--rate") == 0) {
            rc = number(name, value, 0, 1000000, &f->rate, err, errlen);
        } else if (strcmp(name, "--mix") == 0) {
            rc = flags_set_mix(f, value, err, errlen);
        } else if (strcmp(name, "--troubled") == 0) {
            rc = number(name, value, 0.0001, 1, &f->troubled, err, errlen);
        } else if (strcmp(name, "--boot-spread") == 0) {
            rc = number(name, value, 0, 86400, &f->boot_spread_s, err, errlen);
        } else if (strcmp(name, "--health-timeout") == 0) {
            if ((rc = whole(name, value, 1, 86400, &u, err, errlen)) == 0)
                f->health_timeout_s = (uint32_t)u;
        } else if (strcmp(name, "--connections") == 0) {
            if ((rc = whole(name, value, 1, 4096, &u, err, errlen)) == 0)
                f->connections = (uint32_t)u;
        } else if (strcmp(name, "--viewers") == 0) {
            if ((rc = whole(name, value, 0, 1000000, &u, err, errlen)) == 0)
                f->viewers = (uint32_t)u;
        } else if (strcmp(name, "--viewer-rate") == 0) {
            rc = number(name, value, 0, 1000000, &f->viewer_rate, err, errlen);
        } else if (strcmp(name, "--duration") == 0) {
            rc = number(name, value, 0, 31 * 86400, &f->duration_s, err, errlen);
        } else if (strcmp(name, "--boot-limit") == 0) {
            rc = number(name, value, 0.1, 86400, &f->boot_limit_s, err, errlen);
        } else if (strcmp(name, "--passphrase") == 0) {
            if (strlen(value) >= sizeof(f->passphrase) || strpbrk(value, "\r\n") != NULL) {
                snprintf(err, errlen, "--passphrase: at most %zu characters, on one line", sizeof(f->passphrase) - 1);
                return -1;
            }
            strcpy(f->passphrase, value);
        } else if (strcmp(name, "--report") == 0) {
            if (strcmp(value, "json") == 0) {
                f->report_json = 1;
            } else if (strcmp(value, "text") == 0) {
                f->report_json = 0;
            } else {
                snprintf(err, errlen, "--report \"%s\": expected json or text", value);
                return -1;
            }
        } else if (strcmp(name, "--seed") == 0) {
            rc = whole(name, value, 0, 9007199254740992.0, &f->seed, err, errlen);
        } else if (strcmp(name, "--max-concurrency") == 0) {
            if ((rc = whole(name, value, 1, 1024, &u, err, errlen)) == 0) /* the server's range */
                f->max_concurrency = (uint32_t)u;
        } else if (strcmp(name, "--zombies") == 0) {
            if ((rc = whole(name, value, 0, FLAGS_MAX_SHARDS, &u, err, errlen)) == 0)
                f->zombies = (uint32_t)u;
        } else if (strcmp(name, "--zombie-after") == 0) {
            rc = number(name, value, 0.1, 86400, &f->zombie_after_s, err, errlen);
        } else if (strcmp(name, "--near-cap") == 0) {
            if ((rc = whole(name, value, 0, FLAGS_MAX_SHARDS, &u, err, errlen)) == 0)
                f->near_cap = (uint32_t)u;
        } else if (strcmp(name, "--restart-loop") == 0) {
            size_t k, len = strlen(value);
            for (k = 0; k != len && valid_name_char((unsigned char)value[k]); ++k)
                ;
            if (len == 0 || len >= sizeof(f->loop_name) || k != len) {
                snprintf(err, errlen, "%s \"%s\": expected a cluster name (1 to 64 of [A-Za-z0-9_.-])", name, value);
                return -1;
            }
            memcpy(f->loop_name, value, len + 1);
        } else if (strcmp(name, "--loop-every") == 0) {
            rc = number(name, value, 1, 86400, &f->loop_every_s, err, errlen);
        } else if (strcmp(name, "--loop-budget") == 0) {
            if ((rc = whole(name, value, 1, FLAGS_SESSION_TOTAL, &u, err, errlen)) == 0)
                f->loop_budget = (uint32_t)u;
        } else {
            snprintf(err, errlen, "%s: no such option (see --help)", name);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    if (!have_url) {
        snprintf(err, errlen, "--url: required, e.g. --url http://127.0.0.1:8080");
        return -1;
    }
    if (f->fleet && f->num_clusters == 0) {
        snprintf(err, errlen, "--clusters: required (or GLANCE_BOTS), e.g. --clusters 'main:360;demo:16'");
        return -1;
    }
    return check_trouble(f, err, errlen);
}
