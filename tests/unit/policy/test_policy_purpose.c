/* test_policy_purpose.c - the purposes a proactive message may not have, in the five
 * languages (policy_purpose.c): shipping confirmations, thank-you notes and offers of help
 * are found; delay notices, delivery questions and messages with any purpose of the order
 * are not, even when they thank or offer help besides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/policy.h"

typedef struct {
  policy_purpose want;
  const char *text;
} purpose_case;

#define SHIP POLICY_PURPOSE_SHIPPING_CONFIRMATION
#define THANKS POLICY_PURPOSE_THANK_YOU
#define OFFER POLICY_PURPOSE_HELP_OFFER
#define NONE POLICY_PURPOSE_NONE

static const purpose_case cases[] = {
    /* shipping confirmations, whatever else they say */
    {SHIP, "Hello Jane, your order 112-4839201-5561023 has shipped. The tracking number is 1Z999. Thank you for your order."},
    {SHIP, "Good news: your parcel is on its way!"},
    {SHIP, "Hola Ana, tu pedido 112-4839201-5561023 ha sido enviado. Gracias por tu pedido."},
    {SHIP, "Hallo Klaus, Ihre Bestellung wurde versandt. Die Sendungsnummer lautet 00340."},
    {SHIP, "Bonjour, votre commande a été expédiée. Le numéro de suivi est 6A123."},
    {SHIP, "Ciao Marco, il tuo ordine è stato spedito."},
    {SHIP, "YOUR ORDER HAS SHIPPED."},
    /* thank-you notes and offers of help with nothing else */
    {THANKS, "Thank you for your purchase!"},
    {THANKS, "Hi Jane,\nThanks so much for shopping with us.\nBest regards,\nAcme Tools"},
    {THANKS, "Vielen Dank für Ihre Bestellung! Mit freundlichen Grüßen, Ihr Acme-Team"},
    {THANKS, "Merci pour votre commande."},
    {THANKS, "Grazie per il tuo acquisto."},
    {OFFER, "Thank you for your order. If you have any problems, please contact us."},
    {OFFER, "Don't hesitate to reach out if you need anything."},
    {OFFER, "Gracias por tu compra. No dudes en contactarnos si tienes alguna pregunta."},
    {OFFER, "Bei Fragen melden Sie sich gerne."},
    {OFFER, "N'hésitez pas à nous contacter."},
    {OFFER, "Non esitare a contattarci per qualsiasi domanda."},
    /* messages with a purpose of the order */
    {NONE, "Hello Jane, we are sorry: your order is delayed. We now expect to ship it within 3 days."},
    {NONE, "Your order has shipped but the carrier reports a delay; the new delivery date is October 12."},
    {NONE, "Please confirm a delivery slot for Friday: morning or afternoon? Let us know if you have any questions."},
    {NONE, "We confirm the customisation of the engraved pen for order 112-4839201-5561023. It will be ready within 5 days. Thank you!"},
    {NONE, "Hello Klaus, we have refunded 19.99 EUR for order 112-4839201-5561023. It may take a few days to appear."},
    {NONE, "Hallo Klaus, es tut uns leid: Ihre Bestellung verzögert sich. Wir versenden sie innerhalb von 3 Tagen."},
    {NONE, "Your warranty covers the drill for 2 years from delivery."},
    {NONE, ""},
    {NONE, "Hello"},
};

static void purposes(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    policy_purpose got = policy_proactive_purpose(cases[i].text, strlen(cases[i].text));
    if (got != cases[i].want) fail_msg("case %zu (%s): got %d, want %d", i, cases[i].text, got, cases[i].want);
  }
}

static void reasons(void **state) {
  (void)state;
  assert_null(policy_purpose_reason(NONE));
  assert_non_null(strstr(policy_purpose_reason(SHIP), "shipping confirmation"));
  assert_non_null(strstr(policy_purpose_reason(THANKS), "thank-you"));
  assert_non_null(strstr(policy_purpose_reason(OFFER), "help"));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(purposes), cmocka_unit_test(reasons)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
