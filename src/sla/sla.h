/* sla.h - the 24-hour clock: seller response-time metrics from message events.
 *
 * Pure: no I/O, no global state. The caller (the store, a test, a benchmark) passes a
 * seller's events as plain arrays; the functions return values. docs/metrics.md
 * gives every definition with examples; this header is the contract.
 *
 * Two ways to the same numbers:
 *   - sla_compute(): full recomputation from raw events (the reference; `--verify`).
 *   - hourly buckets kept by the store, updated with the delta of each buyer
 *     message's outcome whenever an event changes it (sla_thread_eval(),
 *     sla_bucket_add()/sla_bucket_remove()), and read back by sla_from_buckets()
 *     together with the raw events of at most four "edge" hours (sla_plan_query()).
 *     The result equals sla_compute() field for field whenever `at` is not earlier
 *     than any event the buckets reflect (see sla_from_buckets()).
 *
 * Time is int64 unix seconds (UTC). Ownership: functions never keep pointers to
 * their inputs, except that sla_metrics copies the `ref` pointers of buyer messages
 * into its deadline entries. Results with arrays are allocated from a caller's
 * pl_arena and live as long as it. */
#ifndef PL_SLA_H
#define PL_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/pl_err.h"
#include "util/pl_mem.h"

/* "Never" for delivered_at (rejected, failed, not delivered, still held). */
#define SLA_NEVER INT64_MAX
/* Pass as `at` to evaluate outcomes with everything known (used for buckets). */
#define SLA_FOREVER INT64_MAX
#define SLA_HOUR 3600
#define SLA_DAY 86400

/* ---- events ------------------------------------------------------------------- */

/* Sequence numbers order events that share a second. They must be unique within a
 * thread across buyer and seller messages (the store's event id or import line
 * number does). Within one second, a seller message is after a buyer message only
 * if its seq is larger. */

typedef struct {
  int64_t id;          /* the buyer message (matches sla_flag.msg_id) */
  int64_t thread_id;
  int64_t received_at; /* reached the seller's inbox: the clock starts */
  int64_t seq;
  const char *ref;     /* optional external id ("M1") for rendering; not owned; may be NULL */
} sla_buyer_msg;

typedef enum {
  SLA_SUBSTANTIVE = 0,    /* a reply: can answer */
  SLA_AUTO_REPLY = 1,     /* flagged by the sender or sla_is_acknowledgement() */
  SLA_INTERNAL_NOTE = 2,  /* team-only note, never seen by the buyer */
  SLA_REVIEW_REQUEST = 3, /* the Solicitations "request a review" message */
} sla_kind;

typedef struct {
  int64_t thread_id;
  int64_t agent_id;     /* the team member who sent it; 0 when unknown */
  int64_t sent_at;      /* the time of the reply (the answer time) */
  int64_t delivered_at; /* when it reached the buyer; SLA_NEVER if not (yet) */
  int64_t seq;
  sla_kind kind;
} sla_seller_msg;

/* A no-response-needed flag (value true) or unflag (value false) of a buyer message.
 * The latest event with at <= `at` (ties by seq) decides; later ones are ignored. */
typedef struct {
  int64_t msg_id;
  int64_t at;
  int64_t seq;
  bool value;
} sla_flag;

/* One seller's events (or one thread's), in any order. */
typedef struct {
  const sla_buyer_msg *buyer;
  size_t n_buyer;
  const sla_seller_msg *seller;
  size_t n_seller;
  const sla_flag *flags;
  size_t n_flags;
} sla_events;

/* ---- configuration ------------------------------------------------------------ */

typedef struct {
  int64_t deadline_s;      /* the clock: 86400; answered - t <= this is on time */
  int64_t alert_s;         /* due soon: less than this left (14400) */
  double good_min;         /* CRT % >= this: good (90) */
  double warning_min;      /* CRT % >= this: warning, below: at risk (80) */
  int64_t flag_window_s;   /* the over-flagging signal's window (30 days) */
  double over_flag_rate;   /* signal when flagged / received > this (0.20) */
  size_t max_deadlines;    /* entries kept per deadline list, oldest first (100); 0 = all */
} sla_config;

void sla_config_default(sla_config *c);

/* ---- metrics ------------------------------------------------------------------ */

typedef enum { SLA_NO_DATA = 0, SLA_GOOD, SLA_WARNING, SLA_AT_RISK } sla_status;
/* "no_data", "good", "warning", "at_risk". */
const char *sla_status_name(sla_status s);

/* A number that may be absent (JSON null). */
typedef struct {
  bool has_value;
  double value;
} sla_optf;

typedef struct {
  bool has_value;
  int64_t value;
} sla_opti;

typedef struct {
  int64_t agent_id; /* 0: replies without a recorded agent */
  int64_t answered; /* in-window unflagged messages this agent's reply answered */
  int64_t on_time, late;
  sla_optf percent; /* 100 * on_time / answered */
  sla_optf avg_s, median_s;
  sla_opti p90_s;
} sla_agent_metrics;

typedef struct {
  int64_t msg_id;
  const char *ref; /* copied from sla_buyer_msg.ref */
  int64_t thread_id;
  int64_t received_at;
  int64_t due_at;  /* received_at + deadline_s */
  int64_t left_s;  /* due_at - at: positive when due soon, <= 0 when overdue */
} sla_deadline;

typedef struct {
  int64_t at, window_s;

  /* CRT over buyer messages in the window (at - window_s < t <= at). */
  int64_t received; /* all buyer messages in the window */
  int64_t on_time, late, pending, flagged;
  sla_optf crt_percent; /* absent when on_time + late == 0 */
  sla_status status;
  double good_min, warning_min; /* the thresholds status was judged by (the marketplace's) */

  /* Over answered unflagged in-window messages. */
  int64_t answered;
  sla_optf avg_s, median_s;
  sla_opti p90_s; /* nearest rank: a value of the set */

  /* Threads whose first buyer message is in the window and that have an unflagged
   * buyer message; resolved = every unflagged buyer message answered; exchanges =
   * distinct replies that answered them. */
  int64_t threads, resolved_one, resolved_two;
  sla_optf resolved_rate; /* (resolved_one + resolved_two) / threads */

  /* Buyer messages in the window by UTC hour of day and day of week (0 = Monday). */
  int64_t by_hour[24];
  int64_t by_weekday[7];

  /* flagged / received over the window, and over the configured flag window. */
  sla_optf no_response_rate;
  int64_t flag_window_s, flag_window_received, flag_window_flagged;
  sla_optf flag_window_rate;
  bool over_flagging;

  sla_agent_metrics *agents; /* by agent_id ascending; arena-owned */
  size_t n_agents;

  /* Unanswered unflagged in-window messages: less than alert_s left, and past due.
   * Oldest first, at most max_deadlines each; the counts are complete. */
  sla_deadline *due_soon, *overdue; /* arena-owned */
  size_t n_due_soon, n_overdue;
  int64_t due_soon_count, overdue_count;

  /* The complaint rate, which the service fills from the store (claims are not events of
   * the clock; sla_complaints_set): conversations about an order started in the window,
   * those whose order got a claim, their share in percent (none without conversations),
   * the marketplace's limit, and whether the share passes it with enough conversations. */
  int64_t complaint_conversations, complaint_claimed;
  sla_optf complaint_percent;
  double complaint_max_percent;
  bool complaint_at_risk;
} sla_metrics;

/* Fills m's complaint figures: claimed of conversations, at risk above max_percent when
 * there are at least min_conversations. */
void sla_complaints_set(sla_metrics *m, int64_t conversations, int64_t claimed, double max_percent,
                        int64_t min_conversations);

/* When an unanswered, unflagged message received at received_at becomes due soon (the
 * first second with less than alert_s left: received_at + deadline_s - alert_s + 1) and
 * overdue (received_at + deadline_s). The service schedules its "4 hours left" event
 * (e-mail, webhook, live update) at sla_alert_at() and drops it if an answer or a flag
 * comes first. cfg NULL means the defaults. */
int64_t sla_alert_at(const sla_config *cfg, int64_t received_at);
int64_t sla_due_at(const sla_config *cfg, int64_t received_at);

/* Full recomputation of the metrics of the window of window_s seconds ending at `at`
 * from one seller's events, using only what had happened by `at`. cfg NULL means the
 * defaults. Arrays in *out come from `arena`. PL_EINVAL (with d) for window_s <= 0. */
pl_err sla_compute(const sla_config *cfg, const sla_events *ev, int64_t at, int64_t window_s,
                   pl_arena *arena, sla_metrics *out, pl_detail *d);

/* ---- per-message outcomes (what the buckets store) ------------------------------ */

/* A buyer message's outcome as of some time: its state apart from the time-driven
 * pending/late split of unanswered messages, which is decided at query time. */
typedef struct {
  int64_t msg_id, thread_id, received_at;
  bool flagged;
  bool answered;       /* meaningful only when !flagged too: see sla_bucket_key_of() */
  int64_t answered_at; /* sent_at of the answering reply */
  int64_t response_s;  /* answered_at - received_at (>= 0) */
  int64_t agent_id;    /* the answering reply's agent */
  int64_t reply_seq;   /* the answering reply's seq (tells exchanges apart) */
} sla_outcome;

typedef enum { SLA_ON_TIME = 0, SLA_LATE, SLA_PENDING, SLA_FLAGGED } sla_state;
/* The state of an outcome at `at` (which must not be before the outcome's time). */
sla_state sla_state_at(const sla_config *cfg, const sla_outcome *o, int64_t at);

/* The thread-level outcome, for the resolution share. */
typedef struct {
  int64_t thread_id;
  int64_t first_received_at; /* first buyer message of the thread */
  bool counted;              /* has a buyer message and an unflagged one */
  bool resolved;             /* every unflagged buyer message answered */
  int64_t exchanges;         /* distinct answering replies */
  /* Counts that let one event update the outcome without the thread's history
   * (sla_thread_apply()): unflagged buyer messages, and of those the unanswered. */
  int64_t unflagged, open;
} sla_thread_outcome;

/* Evaluates one thread as of `at` (SLA_FOREVER: everything known). `thread` holds
 * the events of one thread (all messages with one thread_id, else PL_EINVAL; flags
 * of other messages are ignored). *outs (from arena) gets one outcome per buyer
 * message received by `at`, in thread order, *n their count, *t the thread outcome.
 * The store calls it before and after applying an event to the thread, and moves
 * every outcome that changed between buckets (remove the old, add the new). */
pl_err sla_thread_eval(const sla_events *thread, int64_t at, pl_arena *arena,
                       sla_outcome **outs, size_t *n, sla_thread_outcome *t, pl_detail *d);

/* The outcome of one buyer message given its thread's events. PL_ENOTFOUND when the
 * message is not among them or not received by `at`. */
pl_err sla_outcome_of(const sla_events *thread, int64_t msg_id, int64_t at, sla_outcome *out,
                      pl_detail *d);

bool sla_outcome_equal(const sla_outcome *a, const sla_outcome *b);

/* ---- one event at a time (sla_incr.c) ------------------------------------------ */

/* The same outcomes as sla_thread_eval() at SLA_FOREVER, kept from the previous ones
 * and one event, reading only the buyer messages the event can change:
 *   - a buyer message after every event of its thread: sla_outcome_arrived();
 *   - a substantive reply s becoming delivered (a new reply, or a held one approved):
 *     it answers exactly the buyer messages before it whose current answer comes after
 *     it, or that have none (sla_reply_takes_over()); sla_outcome_answer() each;
 *   - a flag or unflag: the message's flagged state, the latest flag event's value.
 * Each changed outcome is an sla_change; sla_thread_apply() then updates the thread
 * outcome from the changes and the replies' counts alone. */
sla_outcome sla_outcome_arrived(int64_t msg_id, int64_t thread_id, int64_t received_at);
/* Whether delivered substantive reply s answers o (whose buyer message has seq
 * buyer_seq) instead of o's current answer. */
bool sla_reply_takes_over(const sla_seller_msg *s, const sla_outcome *o, int64_t buyer_seq);
void sla_outcome_answer(sla_outcome *o, const sla_seller_msg *s);

typedef struct {
  bool is_new;      /* a buyer message that had no outcome: old is ignored */
  sla_outcome old, now;
} sla_change;

/* A reply that answers an unflagged buyer message in some change's old or new outcome,
 * and how many unflagged messages it answered before the changes. */
typedef struct {
  int64_t reply_seq;
  int64_t unflagged;
} sla_reply_count;

/* Updates thread outcome *t (with its counts; for a thread without buyer messages
 * yet, zeroed but for thread_id and first_received_at, the new message's) by changes
 * c[0..n). replies must name every reply that answers an unflagged message in an old or
 * a new outcome. PL_ECONFLICT (t unchanged) when
 * a count would go below zero: the stored outcomes drifted from the events. */
pl_err sla_thread_apply(sla_thread_outcome *t, const sla_change *c, size_t n,
                        const sla_reply_count *replies, size_t n_replies);
bool sla_thread_outcome_equal(const sla_thread_outcome *a, const sla_thread_outcome *b);

/* ---- hourly buckets ------------------------------------------------------------- */

/* Per seller, per hour of buyer-message receipt, per answering agent: the sum of the
 * outcomes (as of everything known) of the buyer messages received in that hour.
 * Unanswered and flagged messages live in agent 0's row; an answered unflagged one
 * in its answering agent's. Thread outcomes live in agent 0's row of the hour of the
 * thread's first buyer message. Nothing in a bucket depends on sla_config: on-time
 * and late are counted at query time from the sorted response times. */
typedef struct {
  int64_t hour;      /* floor(received_at / 3600) */
  int64_t agent_id;
  int64_t received;  /* buyer messages */
  int64_t flagged;
  int64_t open;      /* unflagged, unanswered: pending or late by query time */
  int64_t rt_sum;    /* sum of rt[] */
  int64_t *rt;       /* response seconds of answered unflagged messages, ascending */
  size_t n_rt;
  size_t cap_rt;     /* 0: rt is borrowed (e.g. a database blob); add/remove copy it first */
  int64_t threads, resolved_one, resolved_two;
} sla_bucket;

typedef struct {
  int64_t hour, agent_id;
} sla_bucket_key;

/* hour of a timestamp, rounding toward minus infinity. */
int64_t sla_hour_of(int64_t t);
sla_bucket_key sla_bucket_key_of(const sla_outcome *o);
sla_bucket_key sla_bucket_key_of_thread(const sla_thread_outcome *t);

/* An empty bucket for key k. */
void sla_bucket_init(sla_bucket *b, sla_bucket_key k);
/* Frees b->rt when the bucket owns it (after sla_bucket_add() or _rt_set()). */
void sla_bucket_release(sla_bucket *b);
/* Replaces b->rt with a copy of n sorted values (the store loading a stored row). */
void sla_bucket_rt_set(sla_bucket *b, const int64_t *rt, size_t n);
bool sla_bucket_is_empty(const sla_bucket *b);

/* Add or remove one message's outcome; b must be the bucket of sla_bucket_key_of(o).
 * remove fails with PL_ECONFLICT (bucket unchanged) when the outcome is not in it. */
pl_err sla_bucket_add(sla_bucket *b, const sla_outcome *o);
pl_err sla_bucket_remove(sla_bucket *b, const sla_outcome *o);
/* The same for a thread outcome (bucket of sla_bucket_key_of_thread(t)). Uncounted
 * threads change nothing. */
pl_err sla_bucket_add_thread(sla_bucket *b, const sla_thread_outcome *t);
pl_err sla_bucket_remove_thread(sla_bucket *b, const sla_thread_outcome *t);

/* All buckets of a seller's events as of everything known (a rebuild, and the
 * reference for the incremental updates). *out is a pl_xmalloc'd array sorted by
 * (hour, agent_id); free with sla_buckets_free(). */
pl_err sla_buckets_build(const sla_events *ev, sla_bucket **out, size_t *n, pl_detail *d);
void sla_buckets_free(sla_bucket *b, size_t n);

/* What a bucketed query needs: buckets with hour in [hour_lo, hour_hi], and the raw
 * events of every thread that has a buyer message received in one of the edge hours
 * (hours the window boundaries, the flag window's start or the deadline cut through;
 * at most 4). */
typedef struct {
  int64_t hour_lo, hour_hi;
  int64_t edge[4];
  size_t n_edge;
} sla_plan;

void sla_plan_query(const sla_config *cfg, int64_t at, int64_t window_s, sla_plan *p);
bool sla_plan_is_edge(const sla_plan *p, int64_t hour);

/* An unanswered, unflagged buyer message (as of everything known): the store's
 * "response needed" index, for the deadline lists. */
typedef struct {
  int64_t msg_id, thread_id, received_at;
  const char *ref;
} sla_open_msg;

/* The metrics from buckets. Inputs:
 *   buckets: the seller's buckets in [plan.hour_lo, plan.hour_hi] (others, and those
 *            of edge hours, are ignored; any order; rt may point at memory the caller
 *            owns, e.g. a database blob, as it is only read);
 *   edges:   all events of the threads with a buyer message in an edge hour;
 *   open:    the open messages received in the window (for the deadline lists; only
 *            non-edge hours are read, edges come from `edges`).
 * Exact (equal to sla_compute() over the full history) when every event reflected in
 * the buckets and `open` took effect at or before `at` (received_at, delivered_at,
 * flag at): true for at = now. For an earlier `at`, use sla_compute() over the raw
 * events of the window's threads. */
pl_err sla_from_buckets(const sla_config *cfg, int64_t at, int64_t window_s,
                        const sla_bucket *buckets, size_t n_buckets, const sla_events *edges,
                        const sla_open_msg *open, size_t n_open, pl_arena *arena,
                        sla_metrics *out, pl_detail *d);

/* ---- auto-reply detection ------------------------------------------------------- */

/* True when UTF-8 text is only an acknowledgement ("Thanks for your message, we'll
 * get back to you within 24 hours", "We have received your inquiry", out-of-office
 * notices) in English, Spanish, German, French or Italian; false for anything that
 * also says something substantive, even if it starts with thanks. Conservative: when
 * unsure, false (a real answer must never be discounted). */
bool sla_is_acknowledgement(const char *text, size_t len);

/* ---- rendering ------------------------------------------------------------------ */

/* "30d", "12h" or "90s": the window as the CLI and API spell it. buf >= 24 bytes. */
char *sla_window_label(int64_t window_s, char *buf);

/* The metrics as the `parley metrics --json` object (docs/metrics.md lists every
 * key). New reference for the caller (json_decref); NULL only if jansson fails to
 * allocate. seller may be NULL (rendered as null). */
json_t *sla_metrics_to_json(const sla_metrics *m, const char *seller);

#endif
