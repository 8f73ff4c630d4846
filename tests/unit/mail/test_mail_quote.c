/* test_mail_quote.c - the new text of a reply: quoted history of Outlook, Gmail, Apple Mail
 * and Thunderbird in English, German, French, Spanish and Italian is cut, wrapped or not,
 * quoted with ">" or not; the reply above it is kept whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "mail/mail.h"

#define ALIAS "k3v9qz7m2xa8d0fe+t12@relay.example.com"
#define REPLY "Thanks, it ships today.\nBest regards, Acme"

typedef struct {
  const char *name;
  const char *history; /* what follows the reply */
} quote_case;

static const quote_case cases[] = {
    /* English */
    {"en gmail", "On Mon, Nov 23, 2026 at 9:00 AM Jane Doe <" ALIAS "> wrote:\n> Where is my parcel?\n"},
    {"en gmail wrapped", "On Mon, Nov 23, 2026 at 9:00 AM Jane Doe via Example US <\n" ALIAS "> wrote:\n\n> Where is my parcel?\n"},
    {"en apple", "On 23 Nov 2026, at 09:00, Jane Doe <" ALIAS "> wrote:\n\nWhere is my parcel?\n"},
    {"en thunderbird", "On 23/11/2026 09:00, Jane Doe wrote:\n> Where is my parcel?\n"},
    {"en outlook", "________________________________\nFrom: Jane Doe <" ALIAS ">\nSent: Monday, November 23, 2026 9:00 AM\nTo: Acme <support@acme.test>\nSubject: Order 112\n\nWhere is my parcel?\n"},
    {"en outlook bold", "*From:* Jane Doe <" ALIAS ">\n*Sent:* Monday, November 23, 2026 9:00 AM\n*To:* Acme\n\nWhere is my parcel?\n"},
    {"en separator", "-----Original Message-----\nFrom: " ALIAS "\nWhere is my parcel?\n"},
    /* German */
    {"de gmail", "Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Jane Doe <" ALIAS ">:\n> Wo ist mein Paket?\n"},
    {"de gmail wrapped", "Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Jane Doe via Example <\n" ALIAS ">:\n\nWo ist mein Paket?\n"},
    {"de apple", "Am 23.11.2026 um 09:00 schrieb Jane Doe <" ALIAS ">:\n\nWo ist mein Paket?\n"},
    {"de thunderbird", "Am 23.11.26 um 09:00 schrieb Jane Doe:\n> Wo ist mein Paket?\n"},
    {"de outlook", "Von: Jane Doe <" ALIAS ">\nGesendet: Montag, 23. November 2026 09:00\nAn: Acme <support@acme.test>\nBetreff: Bestellung\n\nWo ist mein Paket?\n"},
    {"de separator", "-----Ursprüngliche Nachricht-----\nVon: " ALIAS "\nWo ist mein Paket?\n"},
    {"de quoted outlook", "> Von: Jane Doe <" ALIAS ">\n> Gesendet: Montag\n> Wo ist mein Paket?\n"},
    /* French */
    {"fr gmail", "Le lun. 23 nov. 2026 à 09:00, Jane Doe <" ALIAS "> a écrit :\n> Où est mon colis ?\n"},
    {"fr gmail wrapped", "Le lun. 23 nov. 2026 à 09:00, Jane Doe via Example <\n" ALIAS "> a écrit :\n\n> Où est mon colis ?\n"},
    {"fr apple", "Le 23 nov. 2026 à 09:00, Jane Doe <" ALIAS "> a écrit :\n\nOù est mon colis ?\n"},
    {"fr thunderbird", "Le 23/11/2026 à 09:00, Jane Doe a écrit :\n> Où est mon colis ?\n"},
    {"fr outlook", "De : Jane Doe <" ALIAS ">\nEnvoyé : lundi 23 novembre 2026 09:00\nÀ : Acme\nObjet : Commande\n\nOù est mon colis ?\n"},
    {"fr separator", "-----Message d'origine-----\nDe : " ALIAS "\nOù est mon colis ?\n"},
    /* Spanish */
    {"es gmail", "El lun, 23 nov 2026 a las 9:00, Jane Doe (<" ALIAS ">) escribió:\n> ¿Dónde está mi paquete?\n"},
    {"es gmail wrapped", "El lun, 23 nov 2026 a las 9:00, Jane Doe (<\n" ALIAS ">) escribió:\n\n> ¿Dónde está mi paquete?\n"},
    {"es apple", "El 23 nov 2026, a las 9:00, Jane Doe <" ALIAS "> escribió:\n\n¿Dónde está mi paquete?\n"},
    {"es thunderbird", "El 23/11/26 a las 9:00, Jane Doe escribió:\n> ¿Dónde está mi paquete?\n"},
    {"es outlook", "De: Jane Doe <" ALIAS ">\nEnviado: lunes, 23 de noviembre de 2026 9:00\nPara: Acme\nAsunto: Pedido\n\n¿Dónde está mi paquete?\n"},
    {"es separator", "-----Mensaje original-----\nDe: " ALIAS "\n¿Dónde está mi paquete?\n"},
    /* Italian */
    {"it gmail", "Il giorno lun 23 nov 2026 alle ore 09:00 Jane Doe <" ALIAS "> ha scritto:\n> Dov'è il mio pacco?\n"},
    {"it gmail wrapped", "Il giorno lun 23 nov 2026 alle ore 09:00 Jane Doe via Example <\n" ALIAS "> ha scritto:\n\n> Dov'è il mio pacco?\n"},
    {"it apple", "Il giorno 23 nov 2026, alle ore 09:00, Jane Doe <" ALIAS "> ha scritto:\n\nDov'è il mio pacco?\n"},
    {"it thunderbird", "Il 23/11/2026 09:00, Jane Doe ha scritto:\n> Dov'è il mio pacco?\n"},
    {"it outlook", "Da: Jane Doe <" ALIAS ">\nInviato: lunedì 23 novembre 2026 09:00\nA: Acme\nOggetto: Ordine\n\nDov'è il mio pacco?\n"},
    {"it separator", "-----Messaggio originale-----\nDa: " ALIAS "\nDov'è il mio pacco?\n"},
    /* forwards and client signatures */
    {"gmail forward de", "---------- Weitergeleitete Nachricht ---------\nVon: " ALIAS "\n"},
    {"apple forward fr", "Début du message réexpédié :\n\nDe: " ALIAS "\n"},
    {"mobile it", "Inviato da iPhone\n\nIl giorno 23 nov 2026, alle ore 09:00, Jane <" ALIAS "> ha scritto:\n"},
    {"mobile de", "Von meinem iPhone gesendet\n"},
};

static void every_client_and_language(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_arena *a = pl_arena_new();
    char *mail = pl_arena_printf(a, "%s\n\n%s", REPLY, cases[i].history);
    char *got = mail_strip_reply(mail, strlen(mail), a);
    if (strcmp(got, REPLY)) fail_msg("%s: got \"%s\"", cases[i].name, got);
    /* CRLF line ends read the same */
    char *crlf = pl_arena_strdup(a, "");
    for (const char *p = mail; *p; p++) crlf = pl_arena_printf(a, "%s%s", crlf, *p == '\n' ? "\r\n" : (char[]){*p, 0});
    got = mail_strip_reply(crlf, strlen(crlf), a);
    if (strcmp(got, REPLY)) fail_msg("%s (CRLF): got \"%s\"", cases[i].name, got);
    pl_arena_free(a);
  }
}

/* Sentences that look a little like history stay: a cut there would lose the reply. */
static void ordinary_sentences_stay(void **state) {
  (void)state;
  static const char *const keep[] = {
      "On Monday we ship your order.\nIt will arrive on Wednesday.",
      "Am Montag schicken wir das Paket.\nVon: Lager Nord, nicht vom Hersteller.",
      "Le colis part lundi.\nDe : notre entrepôt de Lyon",
      "El paquete sale el lunes: número de seguimiento en su cuenta.",
      "Il pacco è stato inviato da noi il 3 marzo.\nA presto!",
      "Inviato da noi ieri, arriva domani.",
      "We wrote to the carrier:\nthey will call you.",
  };
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
    pl_arena *a = pl_arena_new();
    char *got = mail_strip_reply(keep[i], strlen(keep[i]), a);
    if (strcmp(got, keep[i])) fail_msg("cut \"%s\" to \"%s\"", keep[i], got);
    pl_arena_free(a);
  }
}

static void signature_and_blank_lines(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  const char *t = "\n\n  Yes, in stock.  \n\n-- \nAcme Tools\n+1 555 0100\n";
  assert_string_equal(mail_strip_reply(t, strlen(t), a), "  Yes, in stock.");
  assert_string_equal(mail_strip_reply("", 0, a), "");
  pl_arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_client_and_language),
      cmocka_unit_test(ordinary_sentences_stay),
      cmocka_unit_test(signature_and_blank_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
