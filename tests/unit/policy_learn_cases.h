/* policy_learn_cases.h - a kind of promotion the shipped training data never showed the
 * classifier (the seller's own podcast): five an operator rejects, and a new one of the
 * kind whose score the rejections must move (test_policy_train.c, test_service_learn.c;
 * the API and command-line tests have the same sentences in parley_harness.py). The kind
 * changes when the shipped data comes to teach it: the last one, "the same X now also
 * comes in Y", the soft promotion of data/policy/intent-6-*.jsonl now covers. */
#ifndef PL_TEST_POLICY_LEARN_CASES_H
#define PL_TEST_POLICY_LEARN_CASES_H

static const char *const learn_rejected[] = {
    "Episode twelve of our podcast covers how we roast the beans.",
    "This week's podcast episode is about this very kettle.",
    "Our podcast's last episode was about restoring vintage lamps.",
    "In episode nine of our podcast we restore an old radio.",
    "The latest episode of our podcast is on sourdough starters.",
};
static const char *const learn_similar = "Our podcast has a fresh episode about knife sharpening.";

#endif
