/* test_sla_ack.c - acknowledgement-only auto-replies versus substantive answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sla/sla.h"

typedef struct {
  const char *text;
  bool ack;
} ack_case;

static const ack_case CASES[] = {
    /* English acknowledgements */
    {"Thanks for your message, we'll get back to you within 24 hours", true},
    {"Thank you for your message. We will get back to you within 24 hours.", true},
    {"We have received your inquiry", true},
    {"We have received your inquiry and will respond within 1 business day.", true},
    {"Hi Jane, thanks for reaching out! We'll get back to you as soon as possible. "
     "Best regards, Acme Tools",
     true},
    {"Thank you for contacting Acme Tools. A member of our team will get back to you "
     "shortly.",
     true},
    {"Dear customer, thank you for your email. We have received your request and will "
     "reply within 24h.\n\nKind regards,\nCustomer Service",
     true},
    {"This is an automated response. Please do not reply to this message.", true},
    {"Auto reply: I am out of the office until Monday, January 5 and will respond to your "
     "message when I return.",
     true},
    {"I'm currently out of the office with limited access to email. I will reply upon my "
     "return.",
     true},
    {"Our office is closed for the holidays. We will respond to your message on Monday.",
     true},
    {"THANK YOU FOR YOUR MESSAGE! WE WILL GET BACK TO YOU ASAP.", true},
    {"Thanks for getting in touch - we\xE2\x80\x99ll be in touch within 2 business days.",
     true},
    /* Spanish */
    {"Gracias por su mensaje. Le responderemos en un plazo de 24 horas.", true},
    {"Hola, hemos recibido su consulta y nos pondremos en contacto lo antes posible. "
     "Saludos",
     true},
    {"Respuesta autom\xC3\xA1tica: estoy de vacaciones hasta el lunes.", true},
    /* German */
    {"Vielen Dank f\xC3\xBCr Ihre Nachricht. Wir melden uns innerhalb von 24 Stunden bei "
     "Ihnen.",
     true},
    {"Sehr geehrte Damen und Herren, wir haben Ihre Anfrage erhalten und werden uns so "
     "schnell wie m\xC3\xB6glich bei Ihnen melden. Mit freundlichen Gr\xC3\xBC\xC3\x9F"
     "en, Ihr Kundenservice",
     true},
    {"Automatische Antwort: Ich bin nicht im B\xC3\xBCro.", true},
    /* French */
    {"Merci pour votre message. Nous vous r\xC3\xA9pondrons dans les plus brefs "
     "d\xC3\xA9lais.",
     true},
    {"Bonjour, nous avons bien re\xC3\xA7u votre demande et nous reviendrons vers vous "
     "sous 24h. Cordialement, l'\xC3\xA9quipe Acme",
     true},
    {"R\xC3\xA9ponse automatique : je suis absent du bureau jusqu'au 5 janvier.", true},
    /* Italian */
    {"Grazie per il tuo messaggio. Ti risponderemo entro 24 ore.", true},
    {"Buongiorno, abbiamo ricevuto la sua richiesta. Le risponderemo il prima possibile. "
     "Cordiali saluti",
     true},
    {"Risposta automatica: sono fuori ufficio fino al 7 gennaio.", true},

    /* Substantive answers, even when they start with thanks */
    {"Thanks for your message! Yes, the drill comes with a charger and two batteries.",
     false},
    {"Thank you for contacting us. Your refund has been processed.", false},
    {"Thanks for your message. Your order shipped today, tracking 1Z999AA10123456784.",
     false},
    {"Thanks for your message. Yes.", false},
    {"Thank you for your message, we have received your return and issued a refund.",
     false},
    {"We have received your message. The item ships tomorrow from our warehouse.", false},
    {"Thanks for reaching out. The drill is 18V and weighs 1.6 kg. Best regards, Acme",
     false},
    {"Thank you for your patience. Your replacement is on its way.", false},
    {"Gracias por su mensaje. S\xC3\xAD, el taladro incluye el cargador.", false},
    {"Vielen Dank f\xC3\xBCr Ihre Nachricht. Das Ersatzteil wurde heute verschickt.", false},
    {"Merci pour votre message. Le colis a \xC3\xA9t\xC3\xA9 exp\xC3\xA9" "di\xC3\xA9 hier.",
     false},
    {"Grazie per il tuo messaggio. Il rimborso \xC3\xA8 stato emesso oggi.", false},
    {"Thanks!", false},                      /* a bare thanks acknowledges nothing */
    {"Thank you for your patience.", false}, /* no acknowledgement of receipt */
    {"Hello", false},
    {"", false},
    {"Please find the invoice attached.", false},
    {"We will get back to you with the tracking number: 1Z999AA10123456784", false},
    {"Thanks for your message \xF0\x9F\x98\x80 we ship worldwide", false},
    {"Thanks for your message, we will get back to you. Kind regards, shipped today", false},
};

static void table_of_cases(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    bool got = sla_is_acknowledgement(CASES[i].text, strlen(CASES[i].text));
    if (got != CASES[i].ack) {
      fprintf(stderr, "case %zu: expected %s for: %s\n", i, CASES[i].ack ? "ack" : "substantive",
              CASES[i].text);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

static void long_text_is_never_an_acknowledgement(void **state) {
  (void)state;
  char buf[6000] = "Thanks for your message. ";
  while (strlen(buf) < 5000) strcat(buf, "we will get back to you ");
  assert_false(sla_is_acknowledgement(buf, strlen(buf)));
}

static void length_is_respected_and_bytes_are_safe(void **state) {
  (void)state;
  const char *t = "We have received your inquiry. The answer is no.";
  assert_true(sla_is_acknowledgement(t, strlen("We have received your inquiry.")));
  assert_false(sla_is_acknowledgement(t, strlen(t)));
  assert_false(sla_is_acknowledgement(NULL, 0));
  const char bad[] = {'\xC3', '\xFF', '\xE2', '\x80', 'a', '\xF0'};
  assert_false(sla_is_acknowledgement(bad, sizeof bad));
  const char trunc[] = "We have received your inquiry \xC3";
  (void)sla_is_acknowledgement(trunc, sizeof trunc - 1); /* must not read past len */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(table_of_cases),
      cmocka_unit_test(long_text_is_never_an_acknowledgement),
      cmocka_unit_test(length_is_respected_and_bytes_are_safe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
