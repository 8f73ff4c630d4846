/* store_suggest.c - the full-text look-ups behind suggested replies (docs/team.md,
 * "Suggested replies"), written once for both backends over exec.
 *
 * The terms arrive as one text of words separated by single spaces (checked below); each
 * statement makes of it an "any of these words" query in which every word is quoted:
 * FTS5 '"w1" OR "w2"' on SQLite, tsquery '''w1'' | ''w2''' on PostgreSQL. SQLite indexes
 * templates in template_fts (kept from team_docs by triggers, store_sqlite_schema.h);
 * PostgreSQL builds their tsvector as it reads the seller's newest 1,000 templates, which
 * the team_docs_seller index finds. Earlier buyer messages are found in the seller's
 * search index (seller_search: masked text), on both. */
#include <string.h>

#include "store/store_shared.h"

#define SQ_ANY "('\"' || replace(?2, ' ', '\" OR \"') || '\"')"
#define PG_ANY "to_tsquery('parley_text'::regconfig, '''' || replace($2, ' ', ''' | ''') || '''')"

/* The first delivered seller message of kind message after buyer message b in its thread,
 * in the thread's order (time, then id): what answered it. */
#define REPLY_AFTER_B                                                                           \
  "(SELECT x.id FROM messages x JOIN message_state xs ON xs.message_id = x.id"                 \
  " WHERE x.thread_id = b.thread_id AND x.direction = 'seller' AND x.kind = 'message'"          \
  " AND xs.status = 'delivered' AND (x.at > b.at OR (x.at = b.at AND x.id > b.id))"             \
  " ORDER BY x.at, x.id LIMIT 1)"
#define REPLY_COLS                                                                              \
  "SELECT c.id, b.thread_id, r.id, c.r, ss.text, r.text, t.topic, t.order_id, bu.name, bu.locale"
#define REPLY_JOINS                                                                             \
  " JOIN messages b ON b.id = c.id JOIN seller_search ss ON ss.message_id = c.id"               \
  " JOIN threads t ON t.id = b.thread_id JOIN buyers bu ON bu.id = t.buyer_id"                  \
  " JOIN messages r ON r.id = " REPLY_AFTER_B " ORDER BY c.r DESC, r.id DESC LIMIT ?4"

static const st_stmt
    templates = {.sql = "SELECT d.id, CAST(-bm25(template_fts) * 1000000 AS INTEGER) AS r"
                        " FROM template_fts JOIN team_docs d ON d.id = template_fts.rowid"
                        " WHERE template_fts MATCH " SQ_ANY " AND d.seller_id = ?1 AND d.kind = 'template'"
                        " AND d.id IN (SELECT id FROM team_docs WHERE seller_id = ?1 AND kind = 'template'"
                        " ORDER BY id DESC LIMIT 1000)"
                        " ORDER BY r DESC, d.id DESC LIMIT ?3",
                 .pg = "SELECT d.id, (ts_rank(d.tsv, q.q) * 1000000)::bigint AS r"
                       " FROM (SELECT id, to_tsvector('parley_text'::regconfig, coalesce(body::jsonb ->> 'name', ''))"
                       " || to_tsvector('parley_text'::regconfig, coalesce(body::jsonb -> 'variants', '{}'::jsonb)) AS tsv"
                       " FROM team_docs WHERE seller_id = $1 AND kind = 'template' ORDER BY id DESC LIMIT 1000) d,"
                       " (SELECT " PG_ANY " AS q) q"
                       " WHERE d.tsv @@ q.q ORDER BY r DESC, d.id DESC LIMIT $3"},
    replies = {.sql = REPLY_COLS " FROM (SELECT m.id, CAST(-bm25(seller_search_fts) * 1000000 AS INTEGER) AS r"
                      " FROM seller_search_fts JOIN messages m ON m.id = seller_search_fts.rowid"
                      " WHERE seller_search_fts MATCH " SQ_ANY " AND m.seller_id = ?1 AND m.thread_id <> ?5"
                      " ORDER BY r DESC, m.id DESC LIMIT ?3) c" REPLY_JOINS,
               .pg = "SELECT c.id, b.thread_id, r.id, c.r, ss.text, r.text, t.topic, t.order_id, bu.name, bu.locale"
                     " FROM (SELECT m.id, (ts_rank(x.tsv, q.q) * 1000000)::bigint AS r"
                     " FROM seller_search x JOIN messages m ON m.id = x.message_id, (SELECT " PG_ANY " AS q) q"
                     " WHERE x.tsv @@ q.q AND m.seller_id = $1 AND m.thread_id <> $5"
                     " ORDER BY r DESC, m.id DESC LIMIT $3) c"
                     " JOIN messages b ON b.id = c.id JOIN seller_search ss ON ss.message_id = c.id"
                     " JOIN threads t ON t.id = b.thread_id JOIN buyers bu ON bu.id = t.buyer_id"
                     " JOIN messages r ON r.id = " REPLY_AFTER_B " ORDER BY c.r DESC, r.id DESC LIMIT $4"};

/* Whether terms is what the statements expect: 1 to ST_SUGGEST_MAX_TERMS words separated
 * by single spaces, none holding a quote, a backslash or a control character. */
static bool terms_ok(const char *terms) {
  if (!terms || !*terms || *terms == ' ') return false;
  int words = 1;
  for (const char *p = terms; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\'' || ch == '\\' || ch < 0x20 || ch == 0x7f) return false;
    if (ch == ' ' && (p[1] == ' ' || !p[1] || ++words > ST_SUGGEST_MAX_TERMS)) return false;
  }
  return true;
}

pl_err store_suggest_templates(store *s, const char *seller_id, const char *terms, int limit,
                               pl_arena *a, st_suggest_template **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!terms_ok(terms)) return PL_EINVAL;
  return st__list(s, &templates, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(terms), ST_ARG_I(limit < 1 ? 1 : limit)),
                  &st_suggest_template_row, a, out, n);
}

pl_err store_suggest_replies(store *s, const char *seller_id, int64_t except_thread, const char *terms,
                             int candidates, int limit, pl_arena *a, st_suggest_reply **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!terms_ok(terms)) return PL_EINVAL;
  return st__list(s, &replies,
                  ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(terms), ST_ARG_I(candidates < 1 ? 1 : candidates),
                          ST_ARG_I(limit < 1 ? 1 : limit), ST_ARG_I(except_thread)),
                  &st_suggest_reply_row, a, out, n);
}
