/* fuzz_svc.h - a service over an in-memory SQLite store with a small world (marketplace,
 * two sellers with agents, a buyer, an order), made once per fuzzer process, for the
 * targets that feed request bodies and import lines to the service. Each input runs in a
 * batch that is rolled back, so that the store stays the same from input to input. */
#ifndef PL_FUZZ_SVC_H
#define PL_FUZZ_SVC_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"

static svc *fuzz_svc;
static svc_caller fuzz_owner; /* S1's owner */
static int64_t fuzz_other_agent; /* S2's agent */

static void fuzz_import(const char *line) {
  pl_detail d = {0};
  if (svc_import_line(fuzz_svc, line, strlen(line), &d)) {
    fprintf(stderr, "fuzz set-up: %s: %s\n", d.msg, line);
    abort();
  }
}

static svc *fuzz_service(void) {
  if (fuzz_svc) return fuzz_svc;
  pl_detail d = {0};
  if (pl_crypto_init()) abort();
  pl_keys keys;
  randombytes_buf(&keys, sizeof keys);
  keys.ngens = 1; /* one generation of random keys */
  keys.gens[0].id = 1;
  store *st;
  if (store_open(":memory:", &st, &d)) {
    fprintf(stderr, "fuzz set-up: %s\n", d.msg);
    abort();
  }
  if (svc_new(st, &keys, NULL, &fuzz_svc, &d)) abort();
  fuzz_import("{\"type\":\"marketplace\",\"id\":\"M\",\"name\":\"M\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  fuzz_import("{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"M\",\"name\":\"Acme\",\"email\":\"s1@acme.test\"}");
  fuzz_import("{\"type\":\"seller\",\"id\":\"S2\",\"marketplace\":\"M\",\"name\":\"Other\"}");
  fuzz_import("{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane\",\"email\":\"jane@mail.test\"}");
  fuzz_import("{\"type\":\"order\",\"id\":\"112-4839201-5561023\",\"marketplace\":\"M\",\"seller\":\"S1\","
              "\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\","
              "\"items\":[{\"asin\":\"B0C1234567\",\"title\":\"Drill\",\"quantity\":1}]}");
  fuzz_import("{\"type\":\"message\",\"id\":\"m1\",\"order\":\"112-4839201-5561023\",\"from\":\"buyer\","
              "\"at\":\"2026-10-05T09:00:00Z\",\"topic\":\"other\",\"text\":\"Hello\"}");
  int64_t owner;
  if (svc_agent_add(fuzz_svc, "S1", "Olga", "owner", &owner, &d) ||
      svc_agent_add(fuzz_svc, "S2", "Otto", "agent", &fuzz_other_agent, &d))
    abort();
  fuzz_owner = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = owner,
                            .agent_role = ST_ROLE_OWNER, .marketplace_id = "M", .name = "agent:owner"};
  return fuzz_svc;
}

/* The world, and the compiled policy that buyer texts are masked with, are made before
 * the first input: compiling the rules takes seconds, which are no input's. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  pl_detail d = {0};
  if (svc_policy_prepare(fuzz_service(), &d)) {
    fprintf(stderr, "fuzz set-up: the policy does not compile: %s\n", d.msg);
    abort();
  }
  return 0;
}

#endif
