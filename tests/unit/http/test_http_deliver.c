/* test_http_deliver.c - where the webhook delivery worker may connect (docs/webhooks.md,
 * "Safe targets"): the connect-time check on resolved addresses, the URLs a webhook may
 * have and the hosts an operator allows. No connection is made: addresses are checked as
 * libcurl would hand them over. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "http/http.h"
#include "service/svc_webhook.h"

static bool refused(const char *ip, bool allowed) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
  }
  return http_deliver_addr_refused((const struct sockaddr *)&ss, allowed);
}

static void test_internal_addresses_refused(void **state) {
  (void)state;
  static const char *const internal[] = {
      "127.0.0.1", "127.5.6.7", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1",
      "169.254.169.254", /* cloud metadata */
      "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "198.51.100.7", "203.0.113.9",
      "198.18.0.1", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "2001:db8::1",
      "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "64:ff9b::a00:1", "::10.0.0.1"};
  for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++) {
    if (!refused(internal[i], false)) fail_msg("%s was not refused", internal[i]);
    /* a host the operator allowed may resolve to one (a receiver on loopback) */
    if (refused(internal[i], true)) fail_msg("%s was refused for an allowed host", internal[i]);
  }
  static const char *const public[] = {"93.184.216.34", "8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1",
                                       "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:93.184.216.34"};
  for (size_t i = 0; i < sizeof public / sizeof public[0]; i++)
    if (refused(public[i], false)) fail_msg("%s was refused", public[i]);
  /* not IP: refused */
  struct sockaddr un = {.sa_family = AF_UNIX};
  assert_true(http_deliver_addr_refused(&un, false));
}

static void test_urls(void **state) {
  (void)state;
  bool https;
  char host[256];
  unsigned port;
  assert_true(svc_webhook_url_parse("https://hooks.example.com/parley?x=1", &https, host, &port));
  assert_true(https);
  assert_string_equal(host, "hooks.example.com");
  assert_int_equal(port, 443);
  assert_true(svc_webhook_url_parse("http://Receiver.Internal:8443", &https, host, &port));
  assert_false(https);
  assert_string_equal(host, "receiver.internal");
  assert_int_equal(port, 8443);
  assert_true(svc_webhook_url_parse("https://[::1]:9000/h", &https, host, &port));
  assert_string_equal(host, "::1");
  assert_int_equal(port, 9000);
  static const char *const bad[] = {"ftp://example.com/", "https://user:pw@example.com/", "https://example.com@evil.test/",
                                    "https:///path", "https://example.com:0/", "https://example.com:65536/",
                                    "https://example.com:/", "https://example.com:8a/", "https://exa mple.com/",
                                    "https://example.com/#frag", "https://[::1/", "example.com", "https://e.com/\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (svc_webhook_url_parse(bad[i], &https, host, &port)) fail_msg("%s was taken", bad[i]);
  /* literals a webhook may not name unless allowed */
  assert_true(svc_webhook_internal_literal("127.0.0.1"));
  assert_true(svc_webhook_internal_literal("::1"));
  assert_true(svc_webhook_internal_literal("localhost"));
  assert_true(svc_webhook_internal_literal("api.localhost"));
  assert_true(svc_webhook_internal_literal("169.254.169.254"));
  assert_false(svc_webhook_internal_literal("93.184.216.34"));
  assert_false(svc_webhook_internal_literal("hooks.example.com"));
}

static void test_allowed_hosts(void **state) {
  (void)state;
  const char *allow = "127.0.0.1:8443, receiver.internal,[::1]:9000";
  assert_true(svc_webhook_host_allowed(allow, "127.0.0.1", 8443));
  assert_false(svc_webhook_host_allowed(allow, "127.0.0.1", 8444)); /* another port */
  assert_true(svc_webhook_host_allowed(allow, "receiver.internal", 80)); /* any port */
  assert_true(svc_webhook_host_allowed(allow, "RECEIVER.internal", 443));
  assert_true(svc_webhook_host_allowed(allow, "::1", 9000));
  assert_false(svc_webhook_host_allowed(allow, "::1", 9001));
  assert_false(svc_webhook_host_allowed(allow, "127.0.0.2", 8443));
  assert_false(svc_webhook_host_allowed(allow, "internal", 80)); /* whole names only */
  assert_false(svc_webhook_host_allowed(NULL, "127.0.0.1", 8443));
  assert_false(svc_webhook_host_allowed("", "127.0.0.1", 8443));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_internal_addresses_refused),
      cmocka_unit_test(test_urls),
      cmocka_unit_test(test_allowed_hosts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
