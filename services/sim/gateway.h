/* gateway.h -- a simulated shard's gateway counters (events, resumes, identifies, disconnects) and a cluster's
 * identify budget (GET /gateway/bot's session_start_limit), and how they travel. Pure: no I/O, randomness and
 * time from the caller. */
#ifndef GLANCE_SIM_GATEWAY_H
#define GLANCE_SIM_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

/* Discord resets the identify budget a day after the first identify of the window. */
#define GATEWAY_RESET_MS (24ull * 3600 * 1000)

/* What a shard reports: counters since its process started (issue 28's contract). */
struct gateway_counters {
    uint64_t events;
    uint32_t resumes, identifies, disconnects;
};

/* A shard's gateway session as the simulator plays it. */
struct gateway_shard {
    struct gateway_counters c;
    double events_per_s; /* while events flow */
    double carry;        /* the fraction of an event not reported yet, so slow shards still count up */
    uint64_t last_ms;    /* events are counted up to here */
    uint64_t online_ms;  /* when it last came online; 0: not online */
    uint64_t zombie_after_ms; /* 0: never; else its connection goes quiet this long after coming online */
    uint8_t state;       /* the last state it reported (glance's state numbers; 0: none yet) */
};

/* Sets up a shard serving `guilds`: 0.5 to 3 events a second per 100 guilds, the usual range of a bot that
 * does not ask for the noisiest intents. zombie_after_ms 0 makes an ordinary shard; else a zombie that goes
 * quiet that long after each time it comes online (it stays online and keeps pinging). */
void gateway_shard_init(struct gateway_shard *g, uint32_t guilds, uint64_t zombie_after_ms, uint64_t *rng);

/* 1 when events flow at now_ms: online, and not (yet) a quiet zombie. */
int gateway_flowing(const struct gateway_shard *g, uint64_t now_ms);

/* 1 when the shard is a zombie whose connection has gone quiet at now_ms: it still reports, but its events stop
 * and its latency stays at the last heartbeat acknowledged. */
int gateway_quiet(const struct gateway_shard *g, uint64_t now_ms);

/* Counts the events received since the last call, at the shard's rate scaled by 0.8 to 1.2 (events come in
 * bursts), while they flow. Call it before a report and before a change of state. */
void gateway_advance(struct gateway_shard *g, uint64_t now_ms, uint64_t *rng);

/* The shard reports `state` at now_ms; its counters follow what a library does on the way there:
 *   starting (4): a new process: every counter back to 0 (a counter reset);
 *   online (3) from starting: the start's IDENTIFY (its session is open), so a start is one identify;
 *   offline (2) from online or resuming: a lost connection (a disconnect);
 *   resuming (6): a RESUME, after a disconnect unless it came from offline (counted then);
 *   online (3): events flow again (once more for a zombie, until it goes quiet again).
 * Returns 1 when the change sent an IDENTIFY (the cluster's budget pays for it), else 0. */
int gateway_on_state(struct gateway_shard *g, int state, uint64_t now_ms, uint64_t *rng);

/* Writes "&events=E&resumes=R&identifies=I&disconnects=D" and a NUL into buf, to follow a query string.
 * Returns the length (without the NUL), or -1 when it does not fit in cap. */
int gateway_query(char *buf, size_t cap, const struct gateway_counters *c);

/* The most bytes gateway_query (or gateway_fields) writes, the NUL included. */
#define GATEWAY_TEXT_MAX 112u

/* Writes ",\"events\":E,\"resumes\":R,\"identifies\":I,\"disconnects\":D" and a NUL into buf, to follow the
 * fields of a batch item. Returns the length (without the NUL), or -1 when it does not fit in cap. */
int gateway_fields(char *buf, size_t cap, const struct gateway_counters *c);

/* A cluster's identify budget, as GET /gateway/bot gives it. */
struct gateway_session {
    uint32_t total, remaining, max_concurrency;
    uint64_t reset_at_ms; /* the budget is back to total then */
};

/* A budget of `total` with `remaining` left (at most total), a full day before it resets. */
void gateway_session_init(struct gateway_session *s, uint32_t total, uint32_t remaining, uint32_t max_concurrency,
                          uint64_t now_ms);

/* One IDENTIFY at now_ms: the budget is first reset if its day is over, then one is taken (never below 0: Discord
 * refuses identifies then, which the simulator does not play). */
void gateway_session_identify(struct gateway_session *s, uint64_t now_ms);

/* Resets the budget when its day is over at now_ms (the next day starts then). */
void gateway_session_refresh(struct gateway_session *s, uint64_t now_ms);

/* Writes the body of POST /api/clusters/<cluster>/gateway as of now_ms and a NUL into buf:
 * {"session_start_total":1000,"session_start_remaining":998,"session_start_reset_after_ms":86399000,
 *  "max_concurrency":1}. Returns the length (without the NUL), or -1 when it does not fit in cap. */
int gateway_session_body(char *buf, size_t cap, struct gateway_session *s, uint64_t now_ms);

#endif
