/* test_service_attach.c - attachments through the service: upload, policy scan of their text,
 * hold when unreadable, one file per content, and who may download. */
#define _GNU_SOURCE /* strcasestr in the fixtures */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../extract/extract_fixtures.h"
#include "service/svc.h"
#include "service/svc_rules.h"

typedef struct {
  svc *s;
  pl_time now;
  char dir[64], files[96];
  svc_caller agent, agent2, buyer, buyer2, operator_;
  pl_arena *a;
  int64_t thread; /* B1's thread about O1, with a buyer message to answer */
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *line) {
  pl_detail d = {0};
  if (svc_import_line(f->s, line, strlen(line), &d)) fail_msg("import failed: %s (%s)", d.msg, line);
}

#define T0 1791190800 /* 2026-10-05T09:00:00Z */
#define O1 "112-0000000-0000001"

/* The reader the next setup gives the service: NULL for the production one. */
static const char *setup_reader;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-attach-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->files, sizeof f->files, "%s/files", f->dir);
  char db[128], key[128];
  snprintf(db, sizeof db, "%s/t.db", f->dir);
  snprintf(key, sizeof key, "%s/t.key", f->dir);
  pl_detail d = {0};
  assert_int_equal(pl_crypto_init(), PL_OK);
  pl_keys keys;
  assert_int_equal(pl_keys_load_or_create(key, &keys, &d), PL_OK);
  store *st;
  assert_int_equal(store_open(db, &st, &d), PL_OK);
  f->now = T0 + 86400;
  /* English OCR only and a generous deadline: the test machine may be loaded, and a
   * file read late would be held rather than judged. */
  svc_options o = {.clock = {fake_now, f}, .policy = shared_policy, .files_dir = f->files,
                   .extract_timeout_ms = 60000, .ocr_langs = "eng", .reader_path = setup_reader};
  assert_int_equal(svc_new(st, &keys, &o, &f->s, &d), PL_OK);
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"M\",\"name\":\"Example\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"M\",\"name\":\"Acme\",\"email\":\"s@acme.test\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S2\",\"marketplace\":\"M\",\"name\":\"Other\",\"email\":\"o@other.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane\",\"email\":\"jane@mail.test\",\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B2\",\"name\":\"Olga\",\"email\":\"olga@mail.test\"}");
  import(f, "{\"type\":\"order\",\"id\":\"" O1 "\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"shipped_at\":\"2026-10-04T09:00:00Z\",\"delivered_at\":\"2026-10-05T09:00:00Z\"}");
  int64_t ag, ag2;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &ag, &d), PL_OK);
  assert_int_equal(svc_agent_add(f->s, "S2", "Otto", "owner", &ag2, &d), PL_OK);
  f->agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag,
                          .agent_role = ST_ROLE_OWNER, .marketplace_id = "M", .name = "agent:1"};
  f->agent2 = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S2", .agent_id = ag2,
                           .agent_role = ST_ROLE_OWNER, .marketplace_id = "M", .name = "agent:2"};
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->buyer2 = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B2", .name = "buyer:B2"};
  f->operator_ = (svc_caller){.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  svc_start_in in = {.order_id = O1, .topic = "other", .text = "Could you send me the invoice?"};
  st_thread t;
  svc_sent m;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->thread = t.id;
  *state = f;
  return 0;
}

/* With parley-reader-probe, whose reading crashes on a file that asks it to. */
static int setup_probe(void **state) {
  setup_reader = PARLEY_READER_PROBE;
  int rc = setup(state);
  setup_reader = NULL;
  return rc;
}

static int teardown(void **state) {
  fx *f = *state;
  svc_free(f->s);
  pl_arena_free(f->a);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* Uploads bytes (freed here) as the caller; returns the attachment. */
static st_attachment upload(fx *f, const svc_caller *c, uint8_t *data, size_t len, const char *name) {
  st_attachment at;
  pl_detail d = {0};
  pl_err e = svc_attachment_create_mem(f->s, c, data, len, name, f->a, &at, &d);
  free(data);
  if (e) fail_msg("upload of %s failed: %s", name, d.msg);
  return at;
}

/* The seller answers in the thread with one attachment. */
static pl_err send_with(fx *f, const svc_caller *c, const char *text, const char *id, svc_sent *m) {
  pl_detail d = {0};
  const char *ids[1] = {id};
  svc_send_in in = {.text = text, .attachments = ids, .nattachments = 1};
  return svc_send(f->s, c, f->thread, &in, f->a, m, &d);
}

/* The finding of category cat that came from attachment id, or -1. */
static int finding_from(const svc_sent *m, const char *cat, const char *id) {
  for (size_t i = 0; i < m->verdict.nfindings; i++)
    if (!strcmp(m->verdict.findings[i].category, cat) && m->origins && m->origins[i].attachment &&
        !strcmp(m->origins[i].attachment, id))
      return (int)i;
  return -1;
}

/* A logo carrying a web address: OCR reads it, and the message is refused with a link
 * finding that names the attachment. */
static void logo_with_address_rejects(void **state) {
  fx *f = *state;
  size_t len;
  uint8_t *png = fx_logo_png("www.acme-tools-shop.com", 40, false, &len);
  st_attachment at = upload(f, &f->agent, png, len, "logo.png");
  assert_string_equal(at.kind, "png");
  assert_true(at.readable);
  svc_sent m;
  assert_int_equal(send_with(f, &f->agent, "Thanks for your order, our logo is attached.", at.id, &m), PL_EPOLICY);
  assert_int_equal(m.msg.status, ST_STATUS_REJECTED);
  int i = finding_from(&m, "link", at.id);
  assert_true(i >= 0);
  assert_string_equal(m.origins[i].name, "logo.png");
  assert_string_equal(m.origins[i].source, "ocr");
  assert_non_null(strstr(m.msg.policy_json, "\"attachment\":\""));
  assert_non_null(strstr(m.msg.policy_json, "logo.png"));
  policy_verdict_free(&m.verdict);
}

/* A clean invoice passes, and with attachments kept the invoice action is available. */
static void clean_invoice_passes(void **state) {
  fx *f = *state;
  svc_action_status st[SVC_ACT_COUNT];
  pl_detail d = {0};
  assert_int_equal(svc_order_actions(f->s, &f->agent, O1, f->a, st, &d), PL_OK);
  assert_true(st[SVC_ACT_INVOICE].available);
  assert_true(st[SVC_ACT_LEGAL].available);
  static const char *const lines[] = {"INVOICE 2026-1001", "Acme Tools, 1 Main Street, Springfield",
                                      "Cordless drill x1 ........ 89.99 USD", "Total due: 89.99 USD", NULL};
  fx_pdf_spec sp = {.lines = lines};
  size_t len;
  uint8_t *pdf = fx_pdf(&sp, &len);
  st_attachment at = upload(f, &f->agent, pdf, len, "invoice.pdf");
  assert_string_equal(at.kind, "pdf");
  assert_true(at.readable);
  const char *ids[1] = {at.id};
  svc_action_in in = {.attachments = ids, .nattachments = 1};
  svc_sent m;
  assert_int_equal(svc_send_action(f->s, &f->agent, O1, "invoice", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  assert_int_equal(m.verdict.nfindings, 0);
  assert_int_equal(m.msg.nattachments, 1);
  assert_string_equal(m.msg.attachments[0].id, at.id);
  policy_verdict_free(&m.verdict);
  /* the buyer sees it in the thread, and may download it */
  st_thread t;
  st_message *ms;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->buyer, f->thread, f->a, &t, &ms, &n, &d), PL_OK);
  json_t *j = svc_json_message(&f->buyer, &ms[n - 1]);
  json_t *atts = json_object_get(j, "attachments");
  assert_int_equal(json_array_size(atts), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(atts, 0), "name")), "invoice.pdf");
  json_decref(j);
  st_attachment got;
  int fd;
  assert_int_equal(svc_attachment_open(f->s, &f->buyer, at.id, f->a, &got, &fd, &d), PL_OK);
  assert_true(fd >= 0);
  close(fd);
  /* another buyer, another seller: not found */
  assert_int_equal(svc_attachment_open(f->s, &f->buyer2, at.id, f->a, &got, &fd, &d), PL_ENOTFOUND);
  assert_int_equal(svc_attachment_open(f->s, &f->agent2, at.id, f->a, &got, &fd, &d), PL_ENOTFOUND);
  assert_int_equal(svc_attachment_open(f->s, &f->operator_, at.id, f->a, &got, &fd, &d), PL_OK);
  close(fd);
}

/* An e-mail address in a PDF's footer is found, on its page. */
static void pdf_footer_email_rejects(void **state) {
  fx *f = *state;
  static const char *const lines[] = {"Order confirmation", "Thank you for shopping with us.", NULL};
  fx_pdf_spec sp = {.lines = lines, .footer = "Questions? Write to billing@acme-tools-shop.com"};
  size_t len;
  uint8_t *pdf = fx_pdf(&sp, &len);
  st_attachment at = upload(f, &f->agent, pdf, len, "confirmation.pdf");
  svc_sent m;
  assert_int_equal(send_with(f, &f->agent, "Your order confirmation is attached.", at.id, &m), PL_EPOLICY);
  int i = finding_from(&m, "email", at.id);
  assert_true(i >= 0);
  assert_int_equal(m.origins[i].page, 1);
  policy_verdict_free(&m.verdict);
}

/* A DOCX hyperlink's target is read from its relationships and refused. */
static void docx_hyperlink_rejects(void **state) {
  fx *f = *state;
  size_t len;
  uint8_t *docx = fx_docx("Care instructions for your drill.", "our deals", "https://acme-tools-shop.com/deals",
                          NULL, NULL, 0, &len);
  st_attachment at = upload(f, &f->agent, docx, len, "care.docx");
  assert_string_equal(at.kind, "docx");
  svc_sent m;
  assert_int_equal(send_with(f, &f->agent, "Care instructions attached.", at.id, &m), PL_EPOLICY);
  assert_true(finding_from(&m, "link", at.id) >= 0);
  policy_verdict_free(&m.verdict);
}

/* A reader that crashes while reading a file (after it said what the file is) leaves
 * the file unreadable: kept, and a message carrying it is held for review. */
static void crashed_reader_is_held(void **state) {
  fx *f = *state;
  const char *text = "PARLEY-PROBE:abort\nA note that brings its reader down.\n";
  st_attachment at = upload(f, &f->agent, (uint8_t *)strdup(text), strlen(text), "note.txt");
  assert_string_equal(at.kind, "txt");
  assert_false(at.readable);
  assert_string_equal(at.reason, "crashed");
  svc_sent m;
  assert_int_equal(send_with(f, &f->agent, "The note you asked for.", at.id, &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_HELD_FOR_REVIEW);
  assert_non_null(strstr(m.msg.policy_json, "crashed"));
  policy_verdict_free(&m.verdict);
}

/* A file that cannot be read is held for review, never delivered unread. */
static void unreadable_is_held(void **state) {
  fx *f = *state;
  size_t len;
  uint8_t *pdf = fx_pdf_encrypted(&len);
  st_attachment at = upload(f, &f->agent, pdf, len, "secret.pdf");
  assert_false(at.readable);
  svc_sent m;
  assert_int_equal(send_with(f, &f->agent, "The document you asked for.", at.id, &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_HELD_FOR_REVIEW);
  assert_non_null(strstr(m.msg.policy_json, "\"unreadable\""));
  assert_non_null(strstr(m.msg.policy_json, "encrypted"));
  policy_verdict_free(&m.verdict);
  /* the buyer neither sees it nor can download it */
  st_attachment got;
  int fd;
  pl_detail d = {0};
  assert_int_equal(svc_attachment_open(f->s, &f->buyer, at.id, f->a, &got, &fd, &d), PL_ENOTFOUND);
}

static size_t files_in(const char *dir) {
  DIR *dd = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while (dd && (e = readdir(dd)))
    if (e->d_name[0] != '.') n++;
  if (dd) closedir(dd);
  return n;
}

/* The same bytes uploaded twice: two records (each with its name), one file. */
static void same_content_stored_once(void **state) {
  fx *f = *state;
  const char *text = "Assembly notes: tighten the chuck by hand.\n";
  st_attachment a1 = upload(f, &f->agent, (uint8_t *)strdup(text), strlen(text), "notes.txt");
  st_attachment a2 = upload(f, &f->agent, (uint8_t *)strdup(text), strlen(text), "copy of notes.txt");
  assert_string_not_equal(a1.id, a2.id);
  assert_string_equal(a1.sha256, a2.sha256);
  assert_string_equal(a2.name, "copy of notes.txt");
  char sub[160];
  snprintf(sub, sizeof sub, "%s/%.2s", f->files, a1.sha256);
  assert_int_equal(files_in(sub), 1);
  snprintf(sub, sizeof sub, "%s/tmp", f->files);
  assert_int_equal(files_in(sub), 0); /* no temporary file left behind */
}

/* Only the uploader's party attaches a file; a buyer's attachments are not blocked. */
static void tenant_isolation(void **state) {
  fx *f = *state;
  const char *text = "Visit www.acme-tools-shop.com for spare parts.\n";
  st_attachment mine = upload(f, &f->agent, (uint8_t *)strdup(text), strlen(text), "parts.txt");
  svc_sent m;
  memset(&m, 0, sizeof m);
  /* the other seller cannot use S1's id, nor can the buyer */
  pl_detail d = {0};
  st_attachment got;
  assert_int_equal(svc_attachment_get(f->s, &f->agent2, mine.id, f->a, &got, &d), PL_ENOTFOUND);
  assert_int_equal(send_with(f, &f->buyer, "Here is a file.", mine.id, &m), PL_ENOTFOUND);
  policy_verdict_free(&m.verdict);
  /* a buyer's own file with an address goes through: buyers are not policed */
  st_attachment theirs = upload(f, &f->buyer, (uint8_t *)strdup(text), strlen(text), "photo-notes.txt");
  assert_null(theirs.seller_id);
  assert_int_equal(send_with(f, &f->buyer, "The part I mean is described here.", theirs.id, &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  policy_verdict_free(&m.verdict);
  /* the seller of the thread may download the buyer's file; another seller may not */
  int fd;
  assert_int_equal(svc_attachment_open(f->s, &f->agent, theirs.id, f->a, &got, &fd, &d), PL_OK);
  close(fd);
  assert_int_equal(svc_attachment_open(f->s, &f->agent2, theirs.id, f->a, &got, &fd, &d), PL_ENOTFOUND);
  assert_int_equal(svc_attachment_open(f->s, &f->buyer2, theirs.id, f->a, &got, &fd, &d), PL_ENOTFOUND);
}

/* Type by content: a PNG named .pdf is refused, and so is an executable. */
static void type_by_content(void **state) {
  fx *f = *state;
  size_t len;
  uint8_t *png = fx_logo_png("ACME", 20, false, &len);
  st_attachment at;
  pl_detail d = {0};
  assert_int_equal(svc_attachment_create_mem(f->s, &f->agent, png, len, "invoice.pdf", f->a, &at, &d), PL_EMISMATCH);
  assert_non_null(strstr(d.msg, "png"));
  free(png);
  static const uint8_t exe[] = "MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode";
  assert_int_equal(svc_attachment_create_mem(f->s, &f->agent, exe, sizeof exe, "a.exe", f->a, &at, &d), PL_EUNSUPPORTED);
  assert_int_equal(svc_attachment_create_mem(f->s, &f->operator_, exe, sizeof exe, "a.txt", f->a, &at, &d), PL_EFORBIDDEN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(logo_with_address_rejects, setup, teardown),
      cmocka_unit_test_setup_teardown(clean_invoice_passes, setup, teardown),
      cmocka_unit_test_setup_teardown(pdf_footer_email_rejects, setup, teardown),
      cmocka_unit_test_setup_teardown(docx_hyperlink_rejects, setup, teardown),
      cmocka_unit_test_setup_teardown(unreadable_is_held, setup, teardown),
      cmocka_unit_test_setup_teardown(crashed_reader_is_held, setup_probe, teardown),
      cmocka_unit_test_setup_teardown(same_content_stored_once, setup, teardown),
      cmocka_unit_test_setup_teardown(tenant_isolation, setup, teardown),
      cmocka_unit_test_setup_teardown(type_by_content, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
