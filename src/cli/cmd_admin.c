/* cmd_admin.c - `parley admin`: marketplaces, sellers, agents and their e-mail addresses, buyers,
 * tokens and accounts. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"
#include "service/svc_mail.h"

static const char usage[] =
    "usage: parley admin [--db PATH] [--key-file PATH] OBJECT ACTION [OPTIONS]\n\n"
    "  marketplace add --id ID --name NAME --domain DOMAIN [--domain ...] [--locale en-US]\n"
    "                  [--settings JSON]   (rule settings, docs/rules.md)\n"
    "  seller add      --id ID --marketplace ID --name NAME [--email ADDRESS]\n"
    "  agent add       --seller ID --name NAME [--role owner|agent|read_only]   (prints the agent id)\n"
    "  agent deactivate AGENT_ID   revokes the agent's tokens and sessions at once; it can no\n"
    "                  longer sign in or be assigned; its messages and audit entries stay\n"
    "  agent-address add    --agent AGENT_ID --email ADDRESS   an address the agent writes from\n"
    "                  by e-mail (docs/postfix.md); prints its id\n"
    "  agent-address list   --agent AGENT_ID   one \"id address\" line each\n"
    "  agent-address remove --agent AGENT_ID --id ADDRESS_ID\n"
    "  buyer add       --id ID --name NAME --email ADDRESS [--locale en-US] [--opt-out]\n"
    "  account set     --operator NAME | --agent AGENT_ID | --buyer BUYER_ID --email ADDRESS\n"
    "                  an account to sign in to the web with, its password read from the first\n"
    "                  line of standard input (never an argument); the address is taken as\n"
    "                  confirmed; a principal with an account gets the new password\n"
    "  account totp-off --operator NAME | --agent AGENT_ID | --buyer BUYER_ID   turns the\n"
    "                  account's two-step sign-in off and voids its recovery codes (an\n"
    "                  authenticator app lost, and the recovery codes with it)\n"
    "  token create    --operator NAME | --agent AGENT_ID | --buyer BUYER_ID\n"
    "                  [--expires-in SECONDS]   (prints the token once; only its hash is kept)\n"
    "  token list      [--all] [--json]   tokens: id, owner, kind, scope, created, last used,\n"
    "                  expiry (never the secret); --all adds revoked and expired ones\n"
    "  token revoke    TOKEN_ID   revokes the token and the web sessions signed in with it,\n"
    "                  at once on every server of the store\n"
    "  spapi-credentials --seller ID   SP-API application credentials for the seller, as JSON\n"
    "                  {\"client_id\",\"client_secret\",\"refresh_token\"}; each run issues a new\n"
    "                  secret and refresh token and revokes the previous ones (docs/spapi.md)\n"
    "  key status      [--check] [--json]   the key file's generations and how many stored\n"
    "                  addresses each still seals; --check opens every one (exit 1 when any\n"
    "                  does not open)\n"
    "  key rotate      [--batch N]   adds a key generation, re-seals every stored address in\n"
    "                  batches of N rows (default 500, at most 10000) while servers serve, then\n"
    "                  retires the old generation; run again after a crash to finish it\n"
    "  key add         adds a key generation only (several nodes: copy the file to each,\n"
    "                  then run key rotate, which resumes)\n"
    "  key retire      removes from the key file the old generations no stored row uses\n"
    "                  (docs/operations.md, \"Key rotation\")\n";

/* parley admin spapi-credentials --seller ID: one JSON object on stdout, for tools. */
static int spapi_credentials(const cli_args *a) {
  const char *seller = cli_get(a, "seller", NULL);
  if (!seller) {
    fprintf(stderr, "parley admin spapi-credentials: --seller ID is required\n");
    return 2;
  }
  svc *s = cli_open(a, NULL);
  if (!s) return 1;
  pl_arena *ar = pl_arena_new();
  svc_spapi_credentials c;
  pl_detail d = {0};
  pl_err e = svc_spapi_credentials_issue(s, seller, ar, &c, &d);
  if (e) {
    fprintf(stderr, "parley admin: %s: %s\n", pl_errname(e), d.msg[0] ? d.msg : pl_strerror(e));
  } else {
    json_t *j = json_pack("{s:s,s:s,s:s}", "client_id", c.client_id, "client_secret", c.client_secret,
                          "refresh_token", c.refresh_token);
    char *out = json_dumps(j, JSON_COMPACT);
    printf("%s\n", out);
    free(out);
    json_decref(j);
  }
  pl_arena_free(ar);
  svc_free(s);
  return e ? 1 : 0;
}

static int fail(svc *s, pl_err e, const pl_detail *d) {
  fprintf(stderr, "parley admin: %s: %s\n", pl_errname(e), d->msg[0] ? d->msg : pl_strerror(e));
  svc_free(s);
  return 1;
}

/* A positive decimal id, or 0 (with a message). */
static int64_t id_arg(const char *v, const char *what) {
  char *end;
  long long id = strtoll(v, &end, 10);
  if (*end || id <= 0 || !*v) {
    fprintf(stderr, "parley admin: %s must be a positive number, not '%s'\n", what, v);
    return 0;
  }
  return id;
}

/* parley admin token list [--all] [--json]: a table for people, JSON lines for tools. */
static int token_list(const cli_args *a) {
  svc *s = cli_open(a, NULL);
  if (!s) return 1;
  pl_arena *ar = pl_arena_new();
  st_token *ts;
  size_t n;
  pl_detail d = {0};
  pl_err e = svc_token_list(s, NULL, cli_has(a, "all"), ar, &ts, &n, &d);
  if (e) {
    pl_arena_free(ar);
    return fail(s, e, &d);
  }
  bool as_json = cli_has(a, "json");
  if (!as_json)
    printf("%-6s %-20s %-8s %-7s %-20s %-20s %-20s %s\n", "ID", "OWNER", "KIND", "SCOPE", "CREATED",
           "LAST USED", "EXPIRES", "REVOKED");
  for (size_t i = 0; i < n; i++) {
    json_t *j = svc_json_token(&ts[i]);
    if (as_json) {
      char *line = json_dumps(j, JSON_COMPACT);
      printf("%s\n", line);
      free(line);
    } else {
      const char *f[4] = {"created_at", "last_used_at", "expires_at", "revoked_at"};
      const char *v[4];
      for (int k = 0; k < 4; k++) v[k] = json_string_value(json_object_get(j, f[k])) ?: "-";
      printf("%-6lld %-20s %-8s %-7s %-20s %-20s %-20s %s\n", (long long)ts[i].id,
             json_string_value(json_object_get(j, "owner")), json_string_value(json_object_get(j, "kind")),
             json_string_value(json_object_get(j, "scope")), v[0], v[1], v[2], v[3]);
    }
    json_decref(j);
  }
  pl_arena_free(ar);
  svc_free(s);
  return 0;
}

/* parley admin token revoke TOKEN_ID */
static int token_revoke(const cli_args *a) {
  int64_t id = id_arg(a->pos[2], "TOKEN_ID");
  if (!id) return 2;
  svc *s = cli_open(a, NULL);
  if (!s) return 1;
  long n = 0;
  pl_detail d = {0};
  pl_err e = svc_token_revoke_id(s, NULL, id, &n, &d);
  if (e) return fail(s, e, &d);
  if (n) printf("revoked token %lld (%ld token%s with its sessions)\n", (long long)id, n, n == 1 ? "" : "s");
  else printf("token %lld was already revoked\n", (long long)id);
  svc_free(s);
  return 0;
}

/* parley admin agent deactivate AGENT_ID */
static int agent_deactivate(const cli_args *a) {
  int64_t id = id_arg(a->pos[2], "AGENT_ID");
  if (!id) return 2;
  svc *s = cli_open(a, NULL);
  if (!s) return 1;
  long n = 0;
  pl_detail d = {0};
  pl_err e = svc_agent_deactivate(s, NULL, id, &n, &d);
  if (e) return fail(s, e, &d);
  printf("deactivated agent %lld; %ld token%s revoked\n", (long long)id, n, n == 1 ? "" : "s");
  svc_free(s);
  return 0;
}

/* The principal named by --operator NAME, --agent ID or --buyer ID (*subject its value);
 * ST_PRINCIPAL_NONE when none is given. */
static st_principal_kind principal_of(const cli_args *a, const char **subject) {
  st_principal_kind k = cli_has(a, "operator") ? ST_PRINCIPAL_OPERATOR
                        : cli_has(a, "agent")  ? ST_PRINCIPAL_AGENT
                        : cli_has(a, "buyer")  ? ST_PRINCIPAL_BUYER
                                               : ST_PRINCIPAL_NONE;
  *subject = k ? cli_get(a, st_principal_kind_name(k), NULL) : NULL;
  return k;
}

/* parley admin account set|totp-off: accounts of the web sign-in (docs/api.md, "Accounts"). */
static int account_cmd(const cli_args *a, const char *act) {
  const char *subject;
  st_principal_kind k = principal_of(a, &subject);
  if (!k || (strcmp(act, "set") && strcmp(act, "totp-off"))) {
    fprintf(stderr, "parley admin account %s: give --operator, --agent or --buyer\n\n%s", act, usage);
    return 2;
  }
  char pw[SVC_PASSWORD_MAX + 3] = "";
  if (!strcmp(act, "set")) {
    if (!cli_get(a, "email", NULL)) {
      fprintf(stderr, "parley admin account set: --email ADDRESS is required\n");
      return 2;
    }
    if (!fgets(pw, sizeof pw, stdin)) {
      fprintf(stderr, "parley admin account set: give the password on standard input\n");
      return 2;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
  }
  svc *s = cli_open(a, NULL);
  if (!s) return 1;
  pl_detail d = {0};
  pl_err e = !strcmp(act, "set") ? svc_account_set(s, k, subject, cli_get(a, "email", NULL), pw, &d)
                                 : svc_account_totp_reset(s, k, subject, &d);
  sodium_memzero(pw, sizeof pw);
  if (e) fprintf(stderr, "parley admin: %s: %s\n", pl_errname(e), d.msg[0] ? d.msg : pl_strerror(e));
  svc_free(s);
  return e ? 1 : 0;
}

int cmd_admin(int argc, char **argv) {
  static const char *const flags[] = {"opt-out", "all", "json", "check", NULL};
  static const char *const known[] = {"db", "key-file", "id", "name", "domain", "locale",
                                      "marketplace", "email", "seller", "role", "opt-out",
                                      "operator", "agent", "buyer", "expires-in", "settings", "all",
                                      "json", "batch", "check", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, flags, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!cli_known(&a, known, "admin")) return 2;
  if (a.npos == 1 && !strcmp(a.pos[0], "spapi-credentials")) return spapi_credentials(&a);
  if (a.npos == 3 && !strcmp(a.pos[0], "token") && !strcmp(a.pos[1], "revoke")) return token_revoke(&a);
  if (a.npos == 3 && !strcmp(a.pos[0], "agent") && !strcmp(a.pos[1], "deactivate")) return agent_deactivate(&a);
  if (a.npos == 2 && !strcmp(a.pos[0], "token") && !strcmp(a.pos[1], "list")) return token_list(&a);
  if (a.npos == 2 && !strcmp(a.pos[0], "key")) return cmd_admin_key(&a);
  if (a.npos == 2 && !strcmp(a.pos[0], "account")) return account_cmd(&a, a.pos[1]);
  if (a.npos != 2) {
    fputs(usage, stderr);
    return 2;
  }
  const char *obj = a.pos[0], *act = a.pos[1];
  svc *s = cli_open(&a, NULL);
  if (!s) return 1;
  pl_detail d = {0};
  pl_err e = PL_OK;
  int rc = 0;
  if (!strcmp(obj, "marketplace") && !strcmp(act, "add")) {
    const char *doms[33];
    size_t n = 0;
    for (size_t i = 0; i < a.nopts && n < 32; i++)
      if (!strcmp(a.opts[i].name, "domain")) doms[n++] = a.opts[i].value;
    doms[n] = NULL;
    svc_marketplace_in in = {cli_get(&a, "id", NULL), cli_get(&a, "name", NULL),
                             cli_get(&a, "locale", "en-US"), doms, cli_get(&a, "settings", NULL)};
    e = svc_marketplace_put(s, &in, &d);
  } else if (!strcmp(obj, "seller") && !strcmp(act, "add")) {
    svc_seller_in in = {cli_get(&a, "id", NULL), cli_get(&a, "marketplace", NULL),
                        cli_get(&a, "name", NULL), cli_get(&a, "email", NULL)};
    e = svc_seller_put(s, &in, &d);
  } else if (!strcmp(obj, "agent") && !strcmp(act, "add")) {
    int64_t id;
    e = svc_agent_add(s, cli_get(&a, "seller", ""), cli_get(&a, "name", NULL),
                      cli_get(&a, "role", "agent"), &id, &d);
    if (!e) printf("%lld\n", (long long)id);
  } else if (!strcmp(obj, "agent-address")) {
    svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "admin"};
    int64_t agent = atoll(cli_get(&a, "agent", "0"));
    pl_arena *ar = pl_arena_new();
    if (!strcmp(act, "add")) {
      svc_agent_address v;
      e = svc_agent_address_add(s, &op, agent, cli_get(&a, "email", NULL), ar, &v, &d);
      if (!e) printf("%lld\n", (long long)v.id);
    } else if (!strcmp(act, "list")) {
      svc_agent_address *v;
      size_t n = 0;
      e = svc_agent_address_list(s, &op, agent, ar, &v, &n, &d);
      for (size_t i = 0; !e && i < n; i++) printf("%lld %s\n", (long long)v[i].id, v[i].email ? v[i].email : "");
    } else if (!strcmp(act, "remove")) {
      e = svc_agent_address_remove(s, &op, agent, atoll(cli_get(&a, "id", "0")), &d);
    } else {
      fprintf(stderr, "parley admin: unknown '%s %s'\n\n%s", obj, act, usage);
      rc = 2;
    }
    pl_arena_free(ar);
  } else if (!strcmp(obj, "buyer") && !strcmp(act, "add")) {
    svc_buyer_in in = {cli_get(&a, "id", NULL), cli_get(&a, "name", NULL),
                       cli_get(&a, "email", NULL), cli_get(&a, "locale", "en-US"),
                       cli_has(&a, "opt-out")};
    e = svc_buyer_put(s, &in, &d);
  } else if (!strcmp(obj, "token") && !strcmp(act, "create")) {
    st_principal_kind k = cli_has(&a, "operator") ? ST_PRINCIPAL_OPERATOR
                          : cli_has(&a, "agent")  ? ST_PRINCIPAL_AGENT
                          : cli_has(&a, "buyer")  ? ST_PRINCIPAL_BUYER
                                                  : ST_PRINCIPAL_NONE;
    if (!k) {
      fprintf(stderr, "parley admin token create: give --operator, --agent or --buyer\n");
      rc = 2;
    } else {
      const char *subj = cli_get(&a, st_principal_kind_name(k), NULL); /* --operator NAME, ... */
      long long ttl = atoll(cli_get(&a, "expires-in", "0"));
      char *tok;
      e = svc_token_create(s, k, subj, ttl > 0 ? svc_now(s) + ttl : 0, &tok, &d);
      if (!e) {
        printf("%s\n", tok);
        free(tok);
      }
    }
  } else {
    fprintf(stderr, "parley admin: unknown '%s %s'\n\n%s", obj, act, usage);
    rc = 2;
  }
  if (e) {
    fprintf(stderr, "parley admin: %s: %s\n", pl_errname(e), d.msg[0] ? d.msg : pl_strerror(e));
    rc = 1;
  }
  svc_free(s);
  return rc;
}
