/* test_sim_http.c -- unit tests of services/sim/http.c: reading a response head. */
#include "check.h"
#include "http.h"

TEST(test_http_parse_a_204)
{
    static const char r[] = "HTTP/1.1 204 No Content\r\nDate: x\r\nx-glance-replica: a\r\n\r\n";
    int status, close;
    size_t head, cl = 99;
    CHECK(http_parse_response(r, sizeof(r) - 1, &status, &head, &cl, &close) == 1);
    CHECK_EQ_U64(status, 204);
    CHECK_EQ_U64(head, sizeof(r) - 1);
    CHECK_EQ_U64(cl, 0);
    CHECK(close == 0);
}

TEST(test_http_parse_a_body_length_and_a_close)
{
    static const char r[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\nConnection: close\r\n\r\n{\"error\":\"...\"}";
    int status, close;
    size_t head, cl;
    CHECK(http_parse_response(r, sizeof(r) - 1, &status, &head, &cl, &close) == 1);
    CHECK_EQ_U64(status, 400);
    CHECK_EQ_U64(cl, 25);
    CHECK(close == 1);
}

TEST(test_http_parse_needs_the_blank_line)
{
    static const char r[] = "HTTP/1.1 204 No Content\r\nDate: x\r\n";
    int status, close;
    size_t head, cl;
    CHECK(http_parse_response(r, sizeof(r) - 1, &status, &head, &cl, &close) == 0);
}

TEST(test_http_parse_rejects_chunked_and_garbage)
{
    static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const char garbage[] = "SSH-2.0-OpenSSH\r\n\r\n";
    int status, close;
    size_t head, cl;
    CHECK(http_parse_response(chunked, sizeof(chunked) - 1, &status, &head, &cl, &close) == -1);
    CHECK(http_parse_response(garbage, sizeof(garbage) - 1, &status, &head, &cl, &close) == -1);
}

TEST(test_http_parse_header_names_ignore_case)
{
    static const char r[] = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\n\r\nabc";
    int status, close;
    size_t head, cl;
    CHECK(http_parse_response(r, sizeof(r) - 1, &status, &head, &cl, &close) == 1);
    CHECK_EQ_U64(cl, 3);
    CHECK(close == 0);
}

int main(void)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_http_parse_a_204),
        CHECK_CASE(test_http_parse_a_body_length_and_a_close),
        CHECK_CASE(test_http_parse_needs_the_blank_line),
        CHECK_CASE(test_http_parse_rejects_chunked_and_garbage),
        CHECK_CASE(test_http_parse_header_names_ignore_case),
    };
    return CHECK_RUN(cases);
}
