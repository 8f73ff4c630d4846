/* policy_learn_cases.h - a kind of cross-sell the shipped training data never showed the
 * classifier ("the same X now also comes in Y"): five an operator rejects, and a new one of
 * the kind whose score the rejections must move (test_policy_train.c, test_service_learn.c;
 * the API and command-line tests have the same sentences in parley_harness.py). */
#ifndef PL_TEST_POLICY_LEARN_CASES_H
#define PL_TEST_POLICY_LEARN_CASES_H

static const char *const learn_rejected[] = {
    "By the way, the same desk lamp also comes in brushed brass now.",
    "The same kettle now comes in a matt black finish as well.",
    "Just so you know, the same chair also comes in dark walnut now.",
    "The same wallet now also comes in tan leather.",
    "The same mug also comes in a speckled blue glaze now.",
};
static const char *const learn_similar = "Your blender also comes in a cream finish now.";

#endif
