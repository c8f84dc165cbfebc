/* metrics.h -- counters of one replica and their Prometheus text form. */
#ifndef GLANCE_METRICS_H
#define GLANCE_METRICS_H

#include <stdint.h>
#include "h2o.h"

struct app;

struct metrics {
    uint64_t responses[600]; /* by status code */
};

/* Counts every response, whoever produced it (our handlers, the file handler, h2o's own errors). */
void metrics_register_logger(struct app *app, h2o_pathconf_t *pathconf);

/* Appends the Prometheus text exposition of everything the replica knows about itself. */
void metrics_render(struct app *app, h2o_buffer_t **buf);

#endif
