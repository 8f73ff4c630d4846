/* svc_team.h - a seller's team (docs/team.md): templates, agents, assignment, tags,
 * internal notes, composition locks, rules with an approval queue, audit samples.
 *
 * Same contract as svc.h: each operation runs in one store transaction, scoped to the
 * caller's seller (another seller's template, rule or thread is PL_ENOTFOUND); JSON
 * results are new references for the caller; strings come from the caller's arena. */
#ifndef PL_SVC_TEAM_H
#define PL_SVC_TEAM_H

#include "service/svc.h"

/* A composition lock lasts this long after the last heartbeat. */
#define SVC_LOCK_SECONDS 120
/* The audit sample is drawn from at most this many of the seller's latest replies. */
#define SVC_AUDIT_POPULATION 1000

/* The types of a rule's actions (docs/team.md, "Rules"), as a rule's JSON names them. */
#define SVC_RULE_ACTION_MAP(X)        \
  X(SVC_RULE_ASSIGN, "assign")        \
  X(SVC_RULE_TAG, "tag")              \
  X(SVC_RULE_PRIORITY, "priority")    \
  X(SVC_RULE_PROPOSE, "propose")
typedef enum { SVC_RULE_ACTION_NONE = 0, SVC_RULE_ACTION_MAP(PL_NAMES_ENUM) } svc_rule_action;
/* One more than the largest action type: the size of an array indexed by type. */
#define SVC_RULE_ACTION_N (1 SVC_RULE_ACTION_MAP(PL_NAMES_COUNT))
/* pl_names.h: the name of a type (NULL for none), and the type of a name. */
const char *svc_rule_action_name(svc_rule_action v);
pl_err svc_rule_action_from_name(const char *name, svc_rule_action *out);

/* ---- templates ------------------------------------------------------------------- */
/* Template ids as the API shows them ("TPL3"); rules "R2"; proposals "PR5". */
char *svc_team_ref(pl_arena *a, const char *prefix, int64_t id);
bool svc_team_parse_ref(const char *ref, const char *prefix, int64_t *id);

/* A template body: {"name","purpose","critical","variants":{"en":"...",...}}. On a
 * policy finding, PL_EPOLICY with *verdict (the caller frees it) and *language the
 * variant that failed. *out is the stored template as the API shows it. */
pl_err svc_template_put(svc *s, const svc_caller *c, int64_t id, json_t *body, pl_arena *a,
                        json_t **out, policy_verdict *verdict, const char **language, pl_detail *d);
pl_err svc_template_get(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out,
                        pl_detail *d);
pl_err svc_template_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_template_delete(svc *s, const svc_caller *c, int64_t id, pl_detail *d);
/* Installs the marketplace's starter set for the caller's seller (or seller_id for the
 * operator), skipping names the seller already has; *out lists those installed. */
/* A saved reply's author (its agent id), or 0 for a template of the whole team. */
int64_t svc_template_author(json_t *tpl);
/* Whether the caller may see and use a template: the team's, or their own saved reply. */
bool svc_template_visible(const svc_caller *c, json_t *tpl);
pl_err svc_template_install_starter(svc *s, const svc_caller *c, const char *seller_id,
                                    pl_arena *a, json_t **out, pl_detail *d);
/* Renders a template for a thread (or an order): the buyer's language, else the
 * marketplace's, else English; placeholders from the order and values. *language is
 * the variant used. PL_EMISSING names a placeholder without a value. */
pl_err svc_template_render(svc *s, const svc_caller *c, int64_t template_id, int64_t thread_id,
                           const char *order_id, json_t *values, pl_arena *a, char **text,
                           const char **language, pl_detail *d);
/* A proactive message from a template, under the message action of its purpose (the
 * marketplace's rules apply: window, restriction, opt-out with the template's
 * criticality). */
pl_err svc_template_send_proactive(svc *s, const svc_caller *c, const char *order_id,
                                   int64_t template_id, json_t *values, pl_arena *a, svc_sent *out,
                                   pl_detail *d);

/* Suggested replies (docs/team.md, "Suggested replies"): at most SVC_SUGGESTIONS of the
 * seller's templates and the seller's own delivered past replies, ranked for the buyer
 * message thread_id waits on (the newest unflagged one since the last reply, else the
 * newest), each filled in for the thread, with its score and the reason in words:
 * {"suggestions":[{"kind","id","title"?,"text","score","reason"}]}. The seller's agents,
 * any role; a buyer is PL_ENOTFOUND, the operator PL_EFORBIDDEN. Each call takes a token
 * of the seller's bucket "suggestions" (SVC_SUGGEST_RATE a second, bursts of
 * SVC_SUGGEST_BURST): PL_ERATELIMIT past it. Nothing is sent or changed but the bucket. */
#define SVC_SUGGESTIONS 5
#define SVC_SUGGEST_RATE 5.0
#define SVC_SUGGEST_BURST 20.0
pl_err svc_thread_suggestions(svc *s, const svc_caller *c, int64_t thread_id, pl_arena *a, json_t **out,
                              pl_detail *d);

/* The starter set: count, and each entry's purpose, name and text per language. */
typedef struct {
  const char *name, *purpose;
  bool critical;
  const char *en, *es, *de, *fr, *it;
} svc_starter_template;
extern const svc_starter_template svc_starter_templates[];
extern const size_t svc_starter_template_count;

/* ---- agents, assignment, tags, notes --------------------------------------------------- */
pl_err svc_team_agents(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
/* An agent sets their own availability; the owner sets anyone's. */
pl_err svc_team_availability(svc *s, const svc_caller *c, int64_t agent_id, bool available,
                             pl_arena *a, pl_detail *d);
/* agent_id > 0 assigns, 0 unassigns, -1 picks the next available agent (round-robin).
 * *assignee is the agent assigned (0 when none). */
pl_err svc_team_assign(svc *s, const svc_caller *c, int64_t thread_id, int64_t agent_id,
                       pl_arena *a, int64_t *assignee, pl_detail *d);
/* Replaces the thread's tags (lower-case letters, digits, '-' and '_'; at most 20). */
pl_err svc_team_tags(svc *s, const svc_caller *c, int64_t thread_id, json_t *tags, pl_arena *a,
                     pl_detail *d);
/* low, normal, high or urgent. */
pl_err svc_team_priority(svc *s, const svc_caller *c, int64_t thread_id, const char *priority,
                         pl_arena *a, pl_detail *d);
/* An internal note: kind "note", never sent to the buyer, not scanned, not counted. */
pl_err svc_team_note(svc *s, const svc_caller *c, int64_t thread_id, const char *text,
                     pl_arena *a, st_message *out, pl_detail *d);
/* The team's view of a thread for its seller: assignee, priority, tags and who is
 * replying; NULL for a buyer. Reads inside its own transaction. */
json_t *svc_team_thread_json(svc *s, const svc_caller *c, int64_t thread_id, pl_arena *a);

/* ---- composition locks ------------------------------------------------------------------ */
/* Starts or renews the caller's lock (a heartbeat); PL_ECONFLICT when another agent
 * holds it. *out is the lock as it stands. */
pl_err svc_team_lock(svc *s, const svc_caller *c, int64_t thread_id, pl_arena *a, json_t **out,
                     pl_detail *d);
pl_err svc_team_unlock(svc *s, const svc_caller *c, int64_t thread_id, pl_detail *d);

/* ---- rules and the approval queue ------------------------------------------------------- */
pl_err svc_rule_put(svc *s, const svc_caller *c, int64_t id, json_t *body, pl_arena *a,
                    json_t **out, pl_detail *d);
pl_err svc_rule_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_rule_delete(svc *s, const svc_caller *c, int64_t id, pl_detail *d);
/* The log of rule firings, newest first. */
pl_err svc_rule_firings(svc *s, const svc_caller *c, int limit, pl_arena *a, json_t **out,
                        pl_detail *d);
/* Proposals of a state (NULL: pending), newest first. */
pl_err svc_proposal_list(svc *s, const svc_caller *c, const char *state, pl_arena *a, json_t **out,
                         pl_detail *d);
/* Sends a pending proposal as a reply (text NULL: as proposed) or discards it. */
pl_err svc_proposal_send(svc *s, const svc_caller *c, int64_t id, const char *text, bool confirm,
                         pl_arena *a, svc_sent *out, pl_detail *d);
pl_err svc_proposal_discard(svc *s, const svc_caller *c, int64_t id, pl_arena *a, pl_detail *d);

/* ---- audit sample ------------------------------------------------------------------------ */
/* n of the seller's latest replies (with id at most until, 0: now) drawn at random from
 * the seed: the same seed and until give the same sample. */
pl_err svc_audit_sample(svc *s, const svc_caller *c, const char *seller_id, int n, uint64_t seed,
                        int64_t until, pl_arena *a, json_t **out, pl_detail *d);

/* What a template is for (its "purpose", docs/team.md), in the order GET /v1/meta lists them. */
#define SVC_PURPOSE_MAP(X)                                         \
  X(SVC_PURPOSE_SHIPPED, "shipped")                                \
  X(SVC_PURPOSE_DELAY, "delay")                                    \
  X(SVC_PURPOSE_RETURN_AUTHORISED, "return_authorised")            \
  X(SVC_PURPOSE_REFUND_PROCESSED, "refund_processed")              \
  X(SVC_PURPOSE_PRODUCT_QUESTION, "product_question")              \
  X(SVC_PURPOSE_DAMAGED_ITEM, "damaged_item")                      \
  X(SVC_PURPOSE_CUSTOM_ORDER_CONFIRMATION, "custom_order_confirmation") \
  X(SVC_PURPOSE_OTHER, "other")
typedef enum { SVC_PURPOSE_NONE = 0, SVC_PURPOSE_MAP(PL_NAMES_ENUM) } svc_purpose;
#define SVC_PURPOSE_N (1 SVC_PURPOSE_MAP(PL_NAMES_COUNT))
/* pl_names.h: the name of a purpose (NULL for none), and the purpose of a name. */
const char *svc_purpose_name(svc_purpose v);
pl_err svc_purpose_from_name(const char *name, svc_purpose *out);

/* Template purpose i (0, 1, ... until NULL), with its label and whether a template of it
 * may be critical (GET /v1/meta). */
const char *svc_template_purpose(size_t i, const char **label, bool *may_be_critical);

#endif
