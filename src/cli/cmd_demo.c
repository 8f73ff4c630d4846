/* cmd_demo.c - `parley demo`: a small marketplace with conversations, for trying parley. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/cli_common.h"
#include "service/svc_team.h"

/* A demo account's password: 14 letters and digits that are not mistaken for each other. */
static void demo_password(char out[15]) {
  static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479";
  for (int i = 0; i < 14; i++) out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
  out[14] = '\0';
}

/* Gives the principal an account with a new password; adds it to the list. */
static bool demo_account(svc *s, json_t *list, st_principal_kind kind, const char *subject, const char *who,
                         const char *email, pl_detail *d) {
  char pw[15];
  demo_password(pw);
  if (svc_account_set(s, kind, subject, email, pw, d)) return false;
  json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "who", who, "email", email, "password", pw));
  sodium_memzero(pw, sizeof pw);
  return true;
}

static const char usage[] =
    "usage: parley demo [--db PATH] [--key-file PATH] [--tokens FILE]\n\n"
    "Loads the demo marketplace into a new database: two marketplaces, two sellers with\n"
    "agents, three buyers, orders and conversations timed relative to now. Prints an API\n"
    "token for the operator, each agent and each buyer, and writes them as JSON to FILE\n"
    "(default <db>.tokens.json, mode 0600). Gives each of them an account with a random\n"
    "password to sign in to the web message center, listed under \"accounts\" there and in\n"
    "a table beside FILE (FILE's \"tokens.json\" becomes \"accounts.txt\": by default\n"
    "<db>.accounts.txt, mode 0600). Refuses a database that already has the demo.\n";

/* One demo line: a format with %s placeholders filled by times relative to now. */
typedef struct {
  const char *fmt;
  long ago[3]; /* seconds before now for each time placeholder; -1 = unused */
} demo_line;

#define H 3600L
#define D (24 * 3600L)

static const demo_line lines[] = {
  {"{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}", {-1, -1, -1}},
  {"{\"type\":\"marketplace\",\"id\":\"A1PM5L3YTRR5AE\",\"name\":\"Example DE\",\"domains\":[\"example.de\"],\"locale\":\"de-DE\"}", {-1, -1, -1}},
  {"{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\",\"email\":\"support@acme.test\"}", {-1, -1, -1}},
  {"{\"type\":\"seller\",\"id\":\"S2\",\"marketplace\":\"A1PM5L3YTRR5AE\",\"name\":\"Nordlicht Leuchten\",\"email\":\"service@nordlicht.test\"}", {-1, -1, -1}},
  {"{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane.doe@mail.test\",\"locale\":\"en-US\"}", {-1, -1, -1}},
  {"{\"type\":\"buyer\",\"id\":\"B2\",\"name\":\"Carlos Ruiz\",\"email\":\"carlos.ruiz@mail.test\",\"locale\":\"es-US\"}", {-1, -1, -1}},
  {"{\"type\":\"buyer\",\"id\":\"B3\",\"name\":\"Anna Schmidt\",\"email\":\"anna.schmidt@mail.test\",\"locale\":\"de-DE\",\"opt_out\":true}", {-1, -1, -1}},
  {"{\"type\":\"order\",\"id\":\"112-4839201-5561023\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"%s\",\"shipped_at\":\"%s\",\"delivered_at\":\"%s\",\"ship_country\":\"US\",\"carrier\":\"UPS\",\"tracking_number\":\"1Z999AA10123456784\",\"items\":[{\"asin\":\"B0C1234567\",\"title\":\"Cordless drill 18V\",\"quantity\":1,\"price\":\"89.99\",\"currency\":\"USD\"}]}", {9 * D, 8 * D, 6 * D}},
  {"{\"type\":\"order\",\"id\":\"112-7730155-0184426\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B2\",\"status\":\"shipped\",\"purchased_at\":\"%s\",\"shipped_at\":\"%s\"}", {3 * D, 2 * D, -1}},
  {"{\"type\":\"order\",\"id\":\"112-0093847-3318290\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"canceled\",\"purchased_at\":\"%s\",\"items\":[{\"asin\":\"B0C7654321\",\"title\":\"Bit set, 32 pieces\",\"quantity\":2,\"price\":\"19.99\",\"currency\":\"USD\"}]}", {4 * D, -1, -1}},
  {"{\"type\":\"order\",\"id\":\"302-5567120-9981734\",\"marketplace\":\"A1PM5L3YTRR5AE\",\"seller\":\"S2\",\"buyer\":\"B3\",\"status\":\"delivered\",\"purchased_at\":\"%s\",\"shipped_at\":\"%s\",\"delivered_at\":\"%s\",\"items\":[{\"asin\":\"B0D5550001\",\"title\":\"Tischleuchte Aurora\",\"quantity\":1,\"price\":\"49.90\",\"currency\":\"EUR\"}]}", {12 * D, 11 * D, 10 * D}},
  {"{\"type\":\"message\",\"id\":\"demo-1\",\"order\":\"112-4839201-5561023\",\"from\":\"buyer\",\"at\":\"%s\",\"topic\":\"product_question\",\"text\":\"Hi, does the drill come with a charger, or do I need to buy one separately?\"}", {5 * D, -1, -1}},
  {"{\"type\":\"message\",\"id\":\"demo-2\",\"order\":\"112-4839201-5561023\",\"from\":\"seller\",\"at\":\"%s\",\"text\":\"Hello Jane, yes: the charger and one 2.0 Ah battery are in the box, under the drill case insert. Let us know if you cannot find it.\"}", {5 * D - 3 * H, -1, -1}},
  {"{\"type\":\"message\",\"id\":\"demo-3\",\"order\":\"112-4839201-5561023\",\"from\":\"buyer\",\"at\":\"%s\",\"text\":\"Found it, thank you!\"}", {5 * D - 4 * H, -1, -1}},
  {"{\"type\":\"flag\",\"message\":\"demo-3\",\"at\":\"%s\",\"no_response_needed\":true}", {5 * D - 5 * H, -1, -1}},
  /* 20 h 30 min old: 3 h 30 min left, inside the 4-hour alert window rather than on its edge */
  {"{\"type\":\"message\",\"id\":\"demo-4\",\"order\":\"112-7730155-0184426\",\"from\":\"buyer\",\"at\":\"%s\",\"topic\":\"shipping_delivery\",\"text\":\"My tracking has not moved for two days. Is the parcel lost?\"}", {20 * H + 30 * 60, -1, -1}},
  {"{\"type\":\"message\",\"id\":\"demo-5\",\"asin\":\"B0C1234567\",\"seller\":\"S1\",\"buyer\":\"B2\",\"from\":\"buyer\",\"at\":\"%s\",\"topic\":\"product_specifications\",\"text\":\"What is the maximum torque of this drill, and does it have a hammer function?\"}", {2 * H, -1, -1}},
  {"{\"type\":\"message\",\"id\":\"demo-6\",\"order\":\"302-5567120-9981734\",\"from\":\"buyer\",\"at\":\"%s\",\"topic\":\"damaged_or_defective\",\"text\":\"Die Leuchte flackert seit gestern. Können Sie mir helfen?\"}", {30 * H, -1, -1}},
};

int cmd_demo(int argc, char **argv) {
  static const char *const known[] = {"db", "key-file", "tokens", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, NULL, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!cli_known(&a, known, "demo") || a.npos) {
    fputs(usage, stderr);
    return 2;
  }
  svc *s = cli_open(&a, NULL);
  if (!s) return 1;
  int rc = 1;
  pl_arena *ar = pl_arena_new();
  pl_detail d = {0};
  json_t *toks = json_object(), *agents = json_object(), *buyers = json_object(), *accounts = json_array();
  {
    /* The demo goes into an empty database only: its ids would collide otherwise. */
    bool empty = false;
    if (svc_store_empty(s, &empty) || !empty) {
      fprintf(stderr, "parley demo: %s already holds data; use a new --db\n", cli_get(&a, "db", "parley.db"));
      goto out;
    }
  }
  pl_time now = svc_now(s);
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    char t[3][32];
    for (int k = 0; k < 3; k++)
      if (lines[i].ago[k] >= 0) pl_time_format(now - lines[i].ago[k], t[k]);
    char buf[2048];
    /* The formats are the constant table above, each with as many %s as times. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(buf, sizeof buf, lines[i].fmt, t[0], t[1], t[2]);
#pragma GCC diagnostic pop
    if (svc_import_line(s, buf, strlen(buf), &d)) {
      fprintf(stderr, "parley demo: line %zu: %s\n", i + 1, d.msg);
      goto out;
    }
  }
  static const struct { const char *seller, *name, *role, *email; } team[] = {
    {"S1", "Maya Lopez", "owner", "maya@acme.test"}, {"S1", "Sam Chen", "agent", "sam@acme.test"},
    {"S2", "Jonas Weber", "owner", "jonas@nordlicht.test"}};
  for (size_t i = 0; i < sizeof team / sizeof team[0]; i++) {
    int64_t id;
    char *tok, idbuf[32];
    if (svc_agent_add(s, team[i].seller, team[i].name, team[i].role, &id, &d)) goto fail;
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
    if (svc_token_create(s, ST_PRINCIPAL_AGENT, idbuf, 0, &tok, &d)) goto fail;
    if (!demo_account(s, accounts, ST_PRINCIPAL_AGENT, idbuf,
                      pl_arena_printf(ar, "%s (%s, %s)", team[i].name, team[i].role, team[i].seller), team[i].email,
                      &d)) {
      free(tok);
      goto fail;
    }
    json_object_set_new(agents, team[i].name,
                        json_pack("{s:s,s:s,s:I,s:s}", "seller", team[i].seller, "role", team[i].role,
                                  "agent_id", (json_int_t)id, "token", tok));
    free(tok);
  }
  static const char *const buyer_ids[] = {"B1", "B2", "B3"};
  static const char *const buyer_names[] = {"Jane Doe (buyer)", "Carlos Ruiz (buyer)", "Anna Schmidt (buyer)"};
  static const char *const buyer_emails[] = {"jane.doe@mail.test", "carlos.ruiz@mail.test", "anna.schmidt@mail.test"};
  for (size_t i = 0; i < 3; i++) {
    char *tok;
    if (svc_token_create(s, ST_PRINCIPAL_BUYER, buyer_ids[i], 0, &tok, &d)) goto fail;
    if (!demo_account(s, accounts, ST_PRINCIPAL_BUYER, buyer_ids[i], buyer_names[i], buyer_emails[i], &d)) {
      free(tok);
      goto fail;
    }
    json_object_set_new(buyers, buyer_ids[i], json_string(tok));
    free(tok);
  }
  char *otok;
  if (svc_token_create(s, ST_PRINCIPAL_OPERATOR, "ops", 0, &otok, &d)) goto fail;
  if (!demo_account(s, accounts, ST_PRINCIPAL_OPERATOR, "ops", "the operator (ops)", "ops@marketplace.test", &d)) {
    free(otok);
    goto fail;
  }
  json_object_set_new(toks, "operator", json_string(otok));
  free(otok);
  {
    /* Acme Tools starts with the starter templates in the five languages; Nordlicht
     * installs them from its Templates page */
    svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:demo"};
    pl_arena *ta = pl_arena_new();
    json_t *installed = NULL;
    bool ok = !svc_template_install_starter(s, &op, "S1", ta, &installed, &d);
    json_decref(installed);
    pl_arena_free(ta);
    if (!ok) goto fail;
  }
  json_object_set(toks, "agents", agents);
  json_object_set(toks, "buyers", buyers);
  json_object_set(toks, "accounts", accounts);
  {
    /* The demo's threads in the order they were opened, with their public ids: the
     * README's examples and the browser journeys find them here. */
    json_t *threads = json_array();
    st_thread *ts;
    size_t nts = 0;
    if (!svc_threads_all(s, ar, &ts, &nts))
      for (size_t i = 0; i < nts; i++)
        json_array_append_new(threads, json_pack("{s:s,s:s?,s:s?,s:s,s:s}", "id", svc_thread_ref(ar, ts[i].id),
                                                 "order", ts[i].order_id, "asin", ts[i].asin,
                                                 "seller", ts[i].seller_id, "buyer", ts[i].buyer_id));
    json_object_set_new(toks, "threads", threads);
  }

  char pbuf[4096];
  const char *db = cli_get(&a, "db", "parley.db");
  snprintf(pbuf, sizeof pbuf, "%s.tokens.json", db);
  const char *path = cli_get(&a, "tokens", pbuf);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f || json_dumpf(toks, f, JSON_INDENT(2)) || fclose(f)) {
    fprintf(stderr, "parley demo: cannot write %s\n", path);
    goto out;
  }
  /* The accounts as a table for people (scripts/run-demo.sh prints it with the address). */
  /* beside the tokens: "<db>.tokens.json" -> "<db>.accounts.txt" (a database URL is no
   * directory to write into; --tokens names one) */
  char abuf[4096];
  size_t pl = strlen(path);
  if (pl >= 11 && !strcmp(path + pl - 11, "tokens.json"))
    snprintf(abuf, sizeof abuf, "%.*saccounts.txt", (int)(pl - 11), path);
  else
    snprintf(abuf, sizeof abuf, "%s.accounts.txt", path);
  fd = open(abuf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  f = fd >= 0 ? fdopen(fd, "w") : NULL;
  bool written = f != NULL;
  for (size_t i = 0; f && i < json_array_size(accounts); i++) {
    json_t *ac = json_array_get(accounts, i);
    written &= fprintf(f, "  %-34s %-26s %s\n", json_string_value(json_object_get(ac, "who")),
                       json_string_value(json_object_get(ac, "email")),
                       json_string_value(json_object_get(ac, "password"))) > 0;
  }
  if (!f || fclose(f) || !written) {
    fprintf(stderr, "parley demo: cannot write %s\n", abuf);
    goto out;
  }
  printf("parley demo: loaded into %s; tokens in %s; accounts in %s\n", db, path, abuf);
  json_dumpf(toks, stdout, JSON_INDENT(2));
  putchar('\n');
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "parley demo: %s\n", d.msg);
out:
  json_decref(agents);
  json_decref(buyers);
  json_decref(accounts);
  json_decref(toks);
  pl_arena_free(ar);
  svc_free(s);
  return rc;
}
