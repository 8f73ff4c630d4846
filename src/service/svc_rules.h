/* svc_rules.h - the marketplace's rules and their defaults (docs/rules.md lists each). */
#ifndef PL_SVC_RULES_H
#define PL_SVC_RULES_H

#include <stdbool.h>
#include <stdint.h>

/* Numbers of one marketplace: defaults, overridden by its settings JSON. */
typedef struct {
  int64_t proactive_window_days; /* proactive messages until this long after completion (30) */
  int64_t review_min_days;       /* review requests from this day after delivery (5) */
  int64_t review_max_days;       /* ... to this day (30) */
  int64_t minor_threshold;       /* minor violations in the window that restrict (3) */
  int64_t minor_window_days;     /* (30) */
  int64_t restriction_days;      /* length of a proactive-messaging restriction (30) */
  int64_t quota_per_day;         /* seller messages a day under a quota (20) */
  int64_t quota_compliance_days; /* a quota ends after this long without violations (7) */
  int64_t poor_performance_days; /* a CRT at risk this long without a break brings a quota,
                                  * lifted quota_compliance_days after it recovers; 0: never (14) */
  double rate_per_second;        /* token bucket per seller and operation (1) */
  double rate_burst;             /* (5) */
  int64_t response_hours;        /* the response clock (24) */
  int64_t alert_hours;           /* "due soon" when less than this is left (4) */
  double crt_good_percent;       /* CRT at or above: good (90) */
  double crt_warning_percent;    /* CRT at or above: warning; below: at risk (80) */
  double over_flag_rate;         /* no-response-needed share over 30 days shown to the operator (0.20) */
  int64_t over_flag_window_days; /* ... over this many days (30) */
  double complaint_rate_max;     /* complaint rate (percent of conversations) above which a
                                  * seller is at risk (2) */
  int64_t complaint_min_conversations; /* ... once it has at least this many in the window (10) */
  bool mask_buyer_contacts;      /* the seller sees a buyer's phone numbers and addresses masked (true) */
  int64_t inbox_days;            /* the seller's inbox shows this many last days unless asked
                                  * for more; 0: everything (60) */
  bool rules_auto_send;          /* sellers' rules may send a template without an agent's approval,
                                  * as an automatic reply that answers nothing (false) */
  int64_t retention_days;        /* threads whose last message is older are purged, unless
                                  * held; 0: kept for ever; at least SVC_RETENTION_MIN_DAYS (0) */
  int64_t text_chars;            /* a message's text, in characters (5,000; at most
                                  * SVC_TEXT_CHARS_CEILING) */
  int64_t attachment_bytes;      /* one attached file (10 MB; at most SVC_ATTACHMENT_CEILING) */
  int64_t learn_decision_weight; /* the review queue's decisions are labelled examples of the
                                  * marketplace's policy model, each counting this many lines of
                                  * the shipped data (at most SVC_LEARN_WEIGHT_MAX); 0: none are
                                  * recorded or learned (5; docs/policy.md) */
  /* Limits of every party (docs/rules.md, "Limits"); 0 = no limit. */
  int64_t buyer_messages_per_minute;   /* buyer messages, thread starts included (30) */
  int64_t buyer_messages_per_day;      /* (500) */
  int64_t buyer_threads_per_minute;    /* conversations a buyer starts (5) */
  int64_t buyer_threads_per_day;       /* (50) */
  int64_t buyer_uploads_per_hour;      /* (30) */
  int64_t buyer_upload_bytes_per_day;  /* (100 MiB) */
  int64_t seller_uploads_per_hour;     /* per seller, all its agents together (300) */
  int64_t seller_upload_bytes_per_day; /* (1 GiB) */
} svc_rules;

#define SVC_LEARN_WEIGHT_MAX 100

/* Defaults, then every key of settings_json (a JSON object) that names a field. */
void svc_rules_load(svc_rules *r, const char *settings_json);

/* The message actions (SP-API Messaging names). */
typedef enum {
  SVC_ACT_CUSTOMIZATION = 0,
  SVC_ACT_DELIVERY,
  SVC_ACT_ORDER,
  SVC_ACT_SERVICE,
  SVC_ACT_ACCESS_KEY,
  SVC_ACT_WARRANTY,
  SVC_ACT_INVOICE,
  SVC_ACT_LEGAL,
  SVC_ACT_PROBLEM,
  SVC_ACT_FEEDBACK_REMOVAL,
  SVC_ACT_COUNT
} svc_action_id;

typedef struct svc_action_def {
  const char *name;     /* confirmCustomizationDetails ... */
  const char *title;    /* for people */
  bool critical;        /* delivered despite an opt-out */
  int64_t max_text;     /* characters; 0 = takes no text */
  bool text_required;
  bool attachment_required;
  bool before_delivery; /* only while the order is not yet delivered */
  bool needs_coverage;  /* warranty: coverage start and end dates */
  bool needs_negative_feedback;
} svc_action_def;

extern const svc_action_def svc_actions[SVC_ACT_COUNT];
/* -1 when name is not an action. */
int svc_action_find(const char *name);

#endif
