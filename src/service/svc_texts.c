/* svc_texts.c - wording fixed by the marketplace, in the buyer's language. */
#include <string.h>

#include "service/svc_int.h"

typedef struct {
  const char *lang, *text;
} text_in;

/* "de-DE" -> the entry for "de", falling back to English. */
static const char *pick(const text_in *t, const char *locale) {
  for (const text_in *p = t; p->lang; p++)
    if (locale && !strncmp(locale, p->lang, 2)) return p->text;
  return t[0].text;
}

static const text_in review_texts[] = {
  {"en", "The seller would like to know how your order went. If you have a moment, you can "
         "review the product and rate the seller on the marketplace: go to Your Orders and "
         "choose \"Write a product review\" or \"Leave seller feedback\". This message was sent by "
         "the marketplace on the seller's behalf; please do not reply to it."},
  {"es", "Al vendedor le gustaría saber qué tal fue tu pedido. Si tienes un momento, puedes "
         "valorar el producto y al vendedor en el marketplace: ve a Mis pedidos y elige "
         "\"Escribir una opinión\" o \"Dejar comentarios al vendedor\". El marketplace envía este "
         "mensaje en nombre del vendedor; no respondas a él."},
  {"de", "Der Verkäufer möchte gern wissen, wie Ihre Bestellung verlaufen ist. Wenn Sie einen "
         "Moment Zeit haben, können Sie das Produkt und den Verkäufer auf dem Marktplatz bewerten: "
         "unter Meine Bestellungen mit \"Produktrezension schreiben\" oder \"Verkäufer bewerten\". "
         "Diese Nachricht sendet der Marktplatz im Namen des Verkäufers; bitte antworten Sie nicht darauf."},
  {"fr", "Le vendeur aimerait savoir comment s'est passée votre commande. Si vous avez un moment, "
         "vous pouvez évaluer le produit et le vendeur sur la place de marché : dans Vos commandes, "
         "choisissez « Écrire un commentaire » ou « Évaluer le vendeur ». Ce message est envoyé par "
         "la place de marché pour le compte du vendeur ; merci de ne pas y répondre."},
  {"it", "Il venditore vorrebbe sapere com'è andato il tuo ordine. Se hai un momento, puoi "
         "recensire il prodotto e valutare il venditore sul marketplace: vai su I miei ordini e "
         "scegli \"Scrivi una recensione\" o \"Lascia un feedback al venditore\". Questo messaggio è "
         "inviato dal marketplace per conto del venditore; non rispondere."},
  {NULL, NULL},
};

const char *svc__review_text(const char *locale, pl_arena *a) {
  return pl_arena_strdup(a, pick(review_texts, locale));
}

static const text_in feedback_removal[] = {
  {"en", "The seller has resolved the issue with your order. If you are satisfied with how it was "
         "handled, you can remove the feedback you left: go to Your Orders and choose \"Remove "
         "feedback\". This is entirely your choice."},
  {"es", "El vendedor ha resuelto el problema de tu pedido. Si estás satisfecho con la solución, "
         "puedes eliminar la valoración que dejaste: ve a Mis pedidos y elige \"Eliminar "
         "valoración\". La decisión es solo tuya."},
  {"de", "Der Verkäufer hat das Problem mit Ihrer Bestellung gelöst. Wenn Sie mit der Lösung "
         "zufrieden sind, können Sie Ihre Bewertung entfernen: unter Meine Bestellungen mit "
         "\"Bewertung entfernen\". Die Entscheidung liegt ganz bei Ihnen."},
  {"fr", "Le vendeur a résolu le problème de votre commande. Si la solution vous convient, vous "
         "pouvez retirer l'évaluation que vous avez laissée : dans Vos commandes, choisissez "
         "« Supprimer l'évaluation ». C'est entièrement votre choix."},
  {"it", "Il venditore ha risolto il problema del tuo ordine. Se sei soddisfatto della soluzione, "
         "puoi rimuovere il feedback che hai lasciato: vai su I miei ordini e scegli \"Rimuovi "
         "feedback\". La scelta è solo tua."},
  {NULL, NULL},
};

static const text_in generic_notice[] = {
  {"en", "The seller sent you information about your order."},
  {"es", "El vendedor te ha enviado información sobre tu pedido."},
  {"de", "Der Verkäufer hat Ihnen Informationen zu Ihrer Bestellung gesendet."},
  {"fr", "Le vendeur vous a envoyé des informations sur votre commande."},
  {"it", "Il venditore ti ha inviato informazioni sul tuo ordine."},
  {NULL, NULL},
};

const char *svc__action_text(const svc_action_def *def, const char *locale, pl_arena *a) {
  if (!strcmp(def->name, "negativeFeedbackRemoval")) return pl_arena_strdup(a, pick(feedback_removal, locale));
  return pl_arena_strdup(a, pick(generic_notice, locale));
}

static const text_in coverage[] = {
  {"en", "Warranty coverage:"},     {"es", "Cobertura de la garantía:"},
  {"de", "Garantiezeitraum:"},      {"fr", "Couverture de la garantie :"},
  {"it", "Copertura della garanzia:"}, {NULL, NULL},
};

const char *svc__coverage_label(const char *locale) { return pick(coverage, locale); }
