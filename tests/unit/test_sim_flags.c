/* test_sim_flags.c -- unit tests of services/sim/flags.c: glance-sim's command line. */
#include "check.h"
#include "flags.h"

static int parse(struct sim_flags *f, char **argv, int argc, char *err, size_t errlen)
{
    flags_defaults(f);
    return flags_parse(f, argc, argv, err, errlen);
}

TEST(test_flags_take_url_and_clusters)
{
    struct sim_flags f;
    char err[256];
    char *argv[] = {"glance-sim", "--url", "http://127.0.0.1:8080", "--clusters", "main:360;demo:16"};
    if (!CHECK(parse(&f, argv, 5, err, sizeof(err)) == 0))
        return;
    CHECK_STR(f.host, "127.0.0.1");
    CHECK_EQ_U64(f.port, 8080);
    CHECK_STR(f.host_header, "127.0.0.1:8080");
    CHECK_EQ_U64(f.num_clusters, 2);
    CHECK_STR(f.clusters[0].name, "main");
    CHECK_EQ_U64(f.clusters[0].shards, 360);
    CHECK_STR(f.clusters[1].name, "demo");
    CHECK_EQ_U64(f.clusters[1].shards, 16);
}

TEST(test_flags_accept_name_equals_value)
{
    struct sim_flags f;
    char err[256];
    char *argv[] = {"glance-sim", "--url=http://localhost", "--clusters=a:1", "--rate=500", "--viewers=1000",
                    "--report=json", "--duration=20", "--jitter=0.5"};
    if (!CHECK(parse(&f, argv, 8, err, sizeof(err)) == 0))
        return;
    CHECK_EQ_U64(f.port, 80);
    CHECK(f.rate == 500);
    CHECK_EQ_U64(f.viewers, 1000);
    CHECK(f.report_json == 1);
    CHECK(f.duration_s == 20);
    CHECK(f.jitter == 0.5);
}

TEST(test_flags_url_with_ipv6_host)
{
    struct sim_flags f;
    char err[256];
    flags_defaults(&f);
    if (!CHECK(flags_set_url(&f, "http://[::1]:9000/", err, sizeof(err)) == 0))
        return;
    CHECK_STR(f.host, "::1");
    CHECK_EQ_U64(f.port, 9000);
    CHECK_STR(f.host_header, "[::1]:9000");
}

TEST(test_flags_reject_https_paths_and_bad_ports)
{
    struct sim_flags f;
    char err[256];
    flags_defaults(&f);
    CHECK(flags_set_url(&f, "https://x", err, sizeof(err)) == -1);
    CHECK(flags_set_url(&f, "http://x/api", err, sizeof(err)) == -1);
    CHECK(flags_set_url(&f, "http://x:0", err, sizeof(err)) == -1);
    CHECK(flags_set_url(&f, "http://x:65536", err, sizeof(err)) == -1);
    CHECK(flags_set_url(&f, "http://:80", err, sizeof(err)) == -1);
    CHECK(strstr(err, "--url") != NULL);
}

TEST(test_flags_reject_bad_clusters)
{
    struct sim_flags f;
    char err[256];
    flags_defaults(&f);
    CHECK(flags_set_clusters(&f, "main", err, sizeof(err)) == -1);
    CHECK(flags_set_clusters(&f, "main:0", err, sizeof(err)) == -1);
    CHECK(flags_set_clusters(&f, "main:1000001", err, sizeof(err)) == -1);
    CHECK(flags_set_clusters(&f, "ma in:3", err, sizeof(err)) == -1);
    CHECK(flags_set_clusters(&f, ":3", err, sizeof(err)) == -1);
    CHECK(flags_set_clusters(&f, "", err, sizeof(err)) == -1);
    CHECK(flags_set_clusters(&f, "a:1;;b:2;", err, sizeof(err)) == 0);
    CHECK_EQ_U64(f.num_clusters, 2);
}

TEST(test_flags_mix_is_normalised)
{
    struct sim_flags f;
    char err[256];
    flags_defaults(&f);
    if (!CHECK(flags_set_mix(&f, "resume=3,restart=1", err, sizeof(err)) == 0))
        return;
    CHECK(f.mix[FLAGS_RESUME] == 0.75);
    CHECK(f.mix[FLAGS_RESTART] == 0.25);
    CHECK(f.mix[FLAGS_SILENT] == 0);
    CHECK(f.mix[FLAGS_DISCONNECT] == 0);
}

TEST(test_flags_mix_rejects_unknown_kinds_and_all_zero)
{
    struct sim_flags f;
    char err[256];
    flags_defaults(&f);
    CHECK(flags_set_mix(&f, "explode=1", err, sizeof(err)) == -1);
    CHECK(flags_set_mix(&f, "resume=0", err, sizeof(err)) == -1);
    CHECK(flags_set_mix(&f, "resume=-1", err, sizeof(err)) == -1);
    CHECK(flags_set_mix(&f, "resume", err, sizeof(err)) == -1);
}

TEST(test_flags_require_a_url)
{
    struct sim_flags f;
    char err[256];
    char *argv[] = {"glance-sim", "--clusters", "a:1"};
    CHECK(parse(&f, argv, 3, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--url") != NULL);
}

TEST(test_flags_fleet_needs_clusters_unless_no_fleet)
{
    struct sim_flags f;
    char err[256];
    char *with[] = {"glance-sim", "--url", "http://h:1"};
    char *without[] = {"glance-sim", "--url", "http://h:1", "--no-fleet", "--viewers", "5"};
    CHECK(parse(&f, with, 3, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--clusters") != NULL);
    CHECK(parse(&f, without, 6, err, sizeof(err)) == 0);
    CHECK(f.fleet == 0);
}

TEST(test_flags_errors_name_the_flag_and_value)
{
    struct sim_flags f;
    char err[256];
    char *rate[] = {"glance-sim", "--url", "http://h:1", "--no-fleet", "--rate", "fast"};
    char *viewers[] = {"glance-sim", "--url", "http://h:1", "--no-fleet", "--viewers", "1.5"};
    char *unknown[] = {"glance-sim", "--url", "http://h:1", "--speed", "3"};
    char *missing[] = {"glance-sim", "--url"};
    CHECK(parse(&f, rate, 6, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--rate \"fast\"") != NULL);
    CHECK(parse(&f, viewers, 6, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--viewers \"1.5\"") != NULL);
    CHECK(parse(&f, unknown, 5, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--speed") != NULL);
    CHECK(parse(&f, missing, 2, err, sizeof(err)) == -1);
}

TEST(test_flags_defaults_are_the_documented_ones)
{
    struct sim_flags f;
    flags_defaults(&f);
    CHECK(f.ping_interval_s == 10);
    CHECK(f.jitter == 0.2);
    CHECK(f.rate == 2);
    CHECK_EQ_U64(f.connections, 8);
    CHECK_EQ_U64(f.health_timeout_s, 30);
    CHECK(f.duration_s == 0);
    CHECK(f.fleet == 1);
}

TEST(test_flags_default_to_the_original_api_no_figures_no_batches)
{
    struct sim_flags f;
    char err[256];
    char *argv[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1"};
    if (!CHECK(parse(&f, argv, 5, err, sizeof(err)) == 0))
        return;
    CHECK(f.figures == 0);
    CHECK_EQ_U64(f.batch, 0);
}

TEST(test_flags_take_figures_and_batch)
{
    struct sim_flags f;
    char err[256];
    char *spaced[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1", "--figures", "--batch", "16"};
    char *equals[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1", "--batch=1000"};
    if (!CHECK(parse(&f, spaced, 8, err, sizeof(err)) == 0))
        return;
    CHECK(f.figures == 1);
    CHECK_EQ_U64(f.batch, 16);
    if (!CHECK(parse(&f, equals, 6, err, sizeof(err)) == 0))
        return;
    CHECK(f.figures == 0);
    CHECK_EQ_U64(f.batch, 1000);
}

TEST(test_flags_batch_is_a_whole_number_up_to_the_servers_limit)
{
    struct sim_flags f;
    char err[256];
    char *over[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1", "--batch", "1001"};
    char *fraction[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1", "--batch", "2.5"};
    char *negative[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1", "--batch", "-1"};
    char *off[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1", "--batch", "0"};
    CHECK(parse(&f, over, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--batch \"1001\"") != NULL);
    CHECK(parse(&f, fraction, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--batch \"2.5\"") != NULL);
    CHECK(parse(&f, negative, 7, err, sizeof(err)) == -1);
    CHECK(parse(&f, off, 7, err, sizeof(err)) == 0);
    CHECK_EQ_U64(f.batch, 0);
}

TEST(test_flags_figures_takes_no_value)
{
    struct sim_flags f;
    char err[256];
    char *argv[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:1", "--figures=yes"};
    CHECK(parse(&f, argv, 6, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--figures takes no value") != NULL);
}

TEST(test_flags_usage_documents_figures_and_batch)
{
    CHECK(strstr(flags_usage, "--figures") != NULL);
    CHECK(strstr(flags_usage, "--batch N") != NULL);
    CHECK(strstr(flags_usage, "/api/clusters/NAME/report") != NULL);
}

TEST(test_flags_troubled_is_a_share_of_the_shards)
{
    struct sim_flags f;
    char err[256];
    char *some[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:100", "--troubled", "0.03"};
    char *none[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:100", "--troubled", "0"};
    char *over[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:100", "--troubled", "1.5"};
    char *word[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:100", "--troubled", "few"};
    char *dflt[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:100"};
    CHECK(parse(&f, dflt, 5, err, sizeof(err)) == 0);
    CHECK(f.troubled == 1);
    CHECK(parse(&f, some, 7, err, sizeof(err)) == 0);
    CHECK(f.troubled == 0.03);
    CHECK(parse(&f, none, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--troubled \"0\"") != NULL);
    CHECK(parse(&f, over, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--troubled \"1.5\"") != NULL);
    CHECK(parse(&f, word, 7, err, sizeof(err)) == -1);
    CHECK(strstr(flags_usage, "--troubled FRACTION") != NULL);
}

TEST(test_flags_gateway_trouble_is_off_by_default)
{
    struct sim_flags f;
    char err[256];
    char *argv[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10"};
    if (!CHECK(parse(&f, argv, 5, err, sizeof(err)) == 0))
        return;
    CHECK(f.gateway == 0);
    CHECK_EQ_U64(f.zombies, 0);
    CHECK_EQ_U64(f.near_cap, 0);
    CHECK(f.loop_cluster == -1);
    CHECK_EQ_U64(f.max_concurrency, 1);
    CHECK(f.zombie_after_s == 60);
    CHECK(f.loop_every_s == 60);
    CHECK_EQ_U64(f.loop_budget, 0);
}

TEST(test_flags_gateway_turns_figures_on_and_takes_no_value)
{
    struct sim_flags f;
    char err[256];
    char *on[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--gateway", "--max-concurrency", "16"};
    char *valued[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--gateway=1"};
    char *over[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--gateway", "--max-concurrency",
                    "1025"};
    if (!CHECK(parse(&f, on, 8, err, sizeof(err)) == 0))
        return;
    CHECK(f.gateway == 1 && f.figures == 1);
    CHECK_EQ_U64(f.max_concurrency, 16);
    CHECK(parse(&f, valued, 6, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--gateway takes no value") != NULL);
    CHECK(parse(&f, over, 8, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--max-concurrency \"1025\"") != NULL);
}

TEST(test_flags_take_zombies_near_cap_and_a_restart_loop)
{
    struct sim_flags f;
    char err[256];
    char *argv[] = {"glance-sim", "--url", "http://h:1", "--restart-loop", "demo", "--clusters", "main:360;demo:16",
                    "--gateway", "--zombies", "3", "--zombie-after=45", "--near-cap", "2", "--loop-every", "30",
                    "--loop-budget", "40"};
    if (!CHECK(parse(&f, argv, 17, err, sizeof(err)) == 0))
        return;
    CHECK_EQ_U64(f.zombies, 3);
    CHECK(f.zombie_after_s == 45);
    CHECK_EQ_U64(f.near_cap, 2);
    CHECK(f.loop_cluster == 1); /* named before --clusters: resolved once they are known */
    CHECK(f.loop_every_s == 30);
    CHECK_EQ_U64(f.loop_budget, 40);
}

TEST(test_flags_restart_loop_names_a_cluster_of_the_fleet)
{
    struct sim_flags f;
    char err[256];
    char *unknown[] = {"glance-sim", "--url", "http://h:1", "--clusters", "main:10", "--restart-loop", "demo"};
    char *bad[] = {"glance-sim", "--url", "http://h:1", "--clusters", "main:10", "--restart-loop", "de mo"};
    CHECK(parse(&f, unknown, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--restart-loop \"demo\": no such cluster") != NULL);
    CHECK(parse(&f, bad, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--restart-loop \"de mo\"") != NULL);
}

TEST(test_flags_zombies_need_gateway_and_near_cap_needs_figures)
{
    struct sim_flags f;
    char err[256];
    char *zombies[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--figures", "--zombies", "1"};
    char *near[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--near-cap", "1"};
    char *near_ok[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--figures", "--near-cap", "1"};
    CHECK(parse(&f, zombies, 8, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--zombies: needs --gateway") != NULL);
    CHECK(parse(&f, near, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--near-cap: needs --figures") != NULL);
    CHECK(parse(&f, near_ok, 8, err, sizeof(err)) == 0);
}

TEST(test_flags_trouble_counts_fit_the_fleet_and_budgets_the_servers_range)
{
    struct sim_flags f;
    char err[256];
    char *many[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--gateway", "--zombies", "6",
                    "--near-cap", "5"};
    char *all[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--gateway", "--zombies", "5",
                   "--near-cap", "5"};
    char *fraction[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--gateway", "--zombies", "1.5"};
    char *budget[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--loop-budget", "1001"};
    char *every[] = {"glance-sim", "--url", "http://h:1", "--clusters", "a:10", "--loop-every", "0"};
    CHECK(parse(&f, many, 10, err, sizeof(err)) == -1);
    CHECK(strstr(err, "more than the fleet's 10 shards") != NULL);
    CHECK(parse(&f, all, 10, err, sizeof(err)) == 0);
    CHECK(parse(&f, fraction, 8, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--zombies \"1.5\"") != NULL);
    CHECK(parse(&f, budget, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--loop-budget \"1001\"") != NULL);
    CHECK(parse(&f, every, 7, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--loop-every \"0\"") != NULL);
}

TEST(test_flags_usage_documents_the_gateway_trouble)
{
    CHECK(strstr(flags_usage, "--gateway") != NULL);
    CHECK(strstr(flags_usage, "--zombies N") != NULL);
    CHECK(strstr(flags_usage, "--near-cap N") != NULL);
    CHECK(strstr(flags_usage, "--restart-loop NAME") != NULL);
    CHECK(strstr(flags_usage, "/api/clusters/NAME/gateway") != NULL);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_flags_take_url_and_clusters),
        CHECK_CASE(test_flags_accept_name_equals_value),
        CHECK_CASE(test_flags_url_with_ipv6_host),
        CHECK_CASE(test_flags_reject_https_paths_and_bad_ports),
        CHECK_CASE(test_flags_reject_bad_clusters),
        CHECK_CASE(test_flags_mix_is_normalised),
        CHECK_CASE(test_flags_mix_rejects_unknown_kinds_and_all_zero),
        CHECK_CASE(test_flags_require_a_url),
        CHECK_CASE(test_flags_fleet_needs_clusters_unless_no_fleet),
        CHECK_CASE(test_flags_errors_name_the_flag_and_value),
        CHECK_CASE(test_flags_defaults_are_the_documented_ones),
        CHECK_CASE(test_flags_default_to_the_original_api_no_figures_no_batches),
        CHECK_CASE(test_flags_take_figures_and_batch),
        CHECK_CASE(test_flags_batch_is_a_whole_number_up_to_the_servers_limit),
        CHECK_CASE(test_flags_figures_takes_no_value),
        CHECK_CASE(test_flags_usage_documents_figures_and_batch),
        CHECK_CASE(test_flags_troubled_is_a_share_of_the_shards),
        CHECK_CASE(test_flags_gateway_trouble_is_off_by_default),
        CHECK_CASE(test_flags_gateway_turns_figures_on_and_takes_no_value),
        CHECK_CASE(test_flags_take_zombies_near_cap_and_a_restart_loop),
        CHECK_CASE(test_flags_restart_loop_names_a_cluster_of_the_fleet),
        CHECK_CASE(test_flags_zombies_need_gateway_and_near_cap_needs_figures),
        CHECK_CASE(test_flags_trouble_counts_fit_the_fleet_and_budgets_the_servers_range),
        CHECK_CASE(test_flags_usage_documents_the_gateway_trouble),
    };
    return CHECK_RUN(cases);
}
