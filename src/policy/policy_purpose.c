/* policy_purpose.c - what a proactive message is for: the purposes the marketplace forbids
 * a seller to start a conversation with (docs/rules.md, "Proactive messages"), read in
 * English, Spanish, German, French and Italian.
 *
 * A proactive message must serve the order. Three kinds serve nothing: a shipping
 * confirmation (the marketplace sends its own), a thank-you, and an offer of help ("contact
 * us if there is a problem"). The text is cut into sentences; a sentence is a shipping
 * confirmation, a thank-you, an offer of help, a greeting or sign-off, or something else.
 * A shipping confirmation anywhere makes the message one, unless the message also speaks
 * of a delay (a delay notice is allowed and may say what has shipped). A message whose
 * sentences are all thanks, offers, greetings and sign-offs is a thank-you or an offer;
 * one sentence of anything else (a delivery slot to confirm, a question about the order)
 * makes it a message with a purpose. Pure: no state, no I/O. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "policy/policy.h"

/* Lower-case ASCII letters; other bytes (UTF-8 letters with accents) as they are: the
 * phrases below are written in lower case with their accents. */
static void lower(const char *s, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)s[i]);
  out[n] = '\0';
}

static bool any(const char *s, const char *const *phrases) {
  for (size_t i = 0; phrases[i]; i++)
    if (strstr(s, phrases[i])) return true;
  return false;
}

static const char *const shipped[] = {
    "has shipped", "have shipped", "has been shipped", "have been shipped", "was shipped", "were shipped",
    "has been dispatched", "was dispatched", "is on its way", "are on their way", "tracking number is",
    "ha sido enviado", "ha sido enviada", "han sido enviados", "fue enviado", "fue enviada", "ha sido despachado",
    "está en camino", "número de seguimiento es",
    "wurde versandt", "wurden versandt", "wurde verschickt", "wurde versendet", "ist unterwegs",
    "sendungsnummer lautet", "sendungsnummer ist",
    "a été expédiée", "a été expédié", "ont été expédiés", "est en route", "numéro de suivi est",
    "è stato spedito", "è stata spedita", "sono stati spediti", "è in viaggio", "numero di tracciamento è",
    NULL};

static const char *const delay[] = {"delay", " late", "retras", "verzög", "verspät", "retard", "ritard", NULL};

static const char *const thanks[] = {"thank", "thanks", "gracias", "danke", "vielen dank", "merci", "grazie", NULL};

static const char *const offer[] = {
    "contact us", "let us know if", "let me know if", "reach out", "don't hesitate", "do not hesitate",
    "don’t hesitate", "if you have any question", "if you have any problem", "if you need anything",
    "if you need any help", "we are here to help", "we're here to help",
    "contáctanos", "contacte con nosotros", "no dudes en", "no dude en", "si tienes alguna", "si tiene alguna",
    "kontaktieren sie uns", "melden sie sich", "zögern sie nicht", "bei fragen", "falls sie fragen",
    "contactez-nous", "n'hésitez pas", "n’hésitez pas", "si vous avez des questions", "si vous avez la moindre",
    "contattaci", "non esitare", "non esiti", "se hai domande", "se ha domande", "per qualsiasi domanda",
    NULL};

static const char *const greeting[] = {
    "hello", "hi ", "hi,", "dear ", "good morning", "good afternoon", "best regards", "kind regards", "regards",
    "best wishes", "sincerely", "cheers", "hola", "saludos", "un saludo", "atentamente", "hallo", "guten tag",
    "liebe ", "lieber ", "sehr geehrte", "mit freundlichen", "viele grüße", "beste grüße", "bonjour",
    "bonsoir", "cordialement", "bien à vous", "ciao", "buongiorno", "gentile", "cordiali saluti", "distinti saluti",
    NULL};

/* A greeting or a sign-off: a short sentence that begins like one, or a bare name. */
static bool is_greeting(const char *s, size_t words) {
  for (size_t i = 0; greeting[i]; i++)
    if (!strncmp(s, greeting[i], strlen(greeting[i]))) return words <= 6;
  return words <= 2;
}

policy_purpose policy_proactive_purpose(const char *text, size_t len) {
  bool any_shipped = false, any_other = false, any_thanks = false, any_offer = false, any_delay = false;
  char buf[1024];
  size_t i = 0;
  while (i < len) {
    /* one sentence: up to . ! ? or a line end (a dot inside a number or an order id stays) */
    size_t j = i;
    while (j < len && text[j] != '!' && text[j] != '?' && text[j] != '\n' &&
           !(text[j] == '.' && (j + 1 == len || text[j + 1] == ' ' || text[j + 1] == '\n')))
      j++;
    size_t n = j - i < sizeof buf - 1 ? j - i : sizeof buf - 1;
    lower(text + i, n, buf);
    char *s = buf;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '-' || *s == '*') s++;
    size_t words = 0;
    for (char *p = s; *p;) {
      while (*p == ' ') p++;
      if (!*p) break;
      words++;
      while (*p && *p != ' ') p++;
    }
    if (words) {
      if (any(s, delay)) any_delay = true;
      if (any(s, shipped)) any_shipped = true;
      else if (any(s, offer)) any_offer = true;
      else if (any(s, thanks)) any_thanks = true;
      else if (!is_greeting(s, words)) any_other = true;
    }
    i = j + 1;
  }
  if (any_shipped && !any_delay) return POLICY_PURPOSE_SHIPPING_CONFIRMATION;
  if (any_shipped || any_other) return POLICY_PURPOSE_NONE;
  if (any_offer) return POLICY_PURPOSE_HELP_OFFER;
  if (any_thanks) return POLICY_PURPOSE_THANK_YOU;
  return POLICY_PURPOSE_NONE;
}

const char *policy_purpose_reason(policy_purpose p) {
  switch (p) {
  case POLICY_PURPOSE_SHIPPING_CONFIRMATION:
    return "a shipping confirmation: the marketplace tells the buyer itself when an order ships";
  case POLICY_PURPOSE_THANK_YOU:
    return "a thank-you note: a message that only thanks the buyer serves no purpose of the order";
  case POLICY_PURPOSE_HELP_OFFER:
    return "an offer of help (\"contact us if there is a problem\"): the buyer can always write from the order";
  default:
    return NULL;
  }
}
