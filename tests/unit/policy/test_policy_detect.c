/* test_policy_detect.c - each detector and rule family on cases beyond the corpus: phrasings, languages, evasions, traps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policy_fixture.h"
#include "policy/policy.h"

static policy_config *cfg;

static int setup(void **state) {
  (void)state;
  return test_policy_compile(&cfg);
}

static int teardown(void **state) {
  (void)state;
  policy_config_unref(cfg);
  return 0;
}

typedef struct {
  const char *cat; /* NULL: the message must be delivered */
  const char *text;
} tcase;

/* Runs cases; a case with a category must be held or rejected with that category. */
static void run(const tcase *cs, size_t n) {
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    policy_verdict v;
    assert_int_equal(policy_scan(cfg, cs[i].text, strlen(cs[i].text), &v), PL_OK);
    bool ok;
    if (!cs[i].cat) {
      ok = v.action == POLICY_DELIVER;
    } else {
      ok = false;
      for (size_t k = 0; k < v.nfindings; k++)
        if (!strcmp(v.findings[k].category, cs[i].cat)) ok = v.action != POLICY_DELIVER;
    }
    if (!ok) {
      failed++;
      fprintf(stderr, "  want %s, got %s: %s\n", cs[i].cat ? cs[i].cat : "deliver", policy_action_name(v.action),
              cs[i].text);
      for (size_t k = 0; k < v.nfindings; k++)
        fprintf(stderr, "      %s %s '%s'\n", v.findings[k].category, v.findings[k].rule, v.findings[k].text);
    }
    policy_verdict_free(&v);
  }
  assert_int_equal(failed, 0);
}

#define RUN(arr) run(arr, sizeof arr / sizeof arr[0])

static void test_false_positive_traps(void **state) {
  (void)state;
  static const tcase cs[] = {
    {NULL, "Please leave it at the door if nobody is home."},
    {NULL, "Please review your order details in Your Orders before we ship."},
    {NULL, "Your tracking number is 1Z999AA10123456784 and the parcel is with UPS."},
    {NULL, "Model XR-500 and XR-550 share the same battery. The price is $19.99."},
    {NULL, "Your order 112-4839201-5561023 was delivered on 03/14/2025 at 14:32."},
    {NULL, "If the parcel doesn't arrive, please call the carrier or check the tracking page in Your Orders."},
    {NULL, "The item SKU 4471-220-XL ships from our warehouse on 2025-06-14."},
    {NULL, "The product has been rated 5 stars by an independent testing lab for safety."},
    {NULL, "Our GripLock™ and Qi® certified charger works fine :) Thanks for asking."},
    {NULL, "The file manual.pdf and setup.txt are attached to the listing, version v2.0, e.g. the Quick Start guide."},
    {NULL, "The warranty period is 2024-2026. Reference number: 4839201556."},
    {NULL, "Artikelnummer 4711-0815, Rechnungsnummer 2024-000123, Kundennr. 5512-3398."},
    {NULL, "Sizes 42-44 are back in stock in the 2024/2025 collection."},
    {NULL, "The lamp arrived broken .It will be replaced today."},
    {NULL, "Returns: https://www.amazon.com/gp/help/customer/display.html?nodeId=201819090"},
    {NULL, "Su número de guía es 7894561230 y el número de envío 0452-018877-31."},
    {NULL, "La lettera di vettura è 3901 2345 678, il numero della pratica 118 4471 225."},
    {NULL, "Il codice di ritiro del Fermopoint è 4839 2011."},
    {NULL, "The manual is on https://www.Amazon.de/dp/B08LQ4ZK7T as well."},
    {NULL, "Der Artikel wurde am 14.06.2025 versendet. Ihre Sendungsnummer lautet 00340434292135100186."},
    {NULL, "El pedido 403-1234567-7654321 sale hoy del almacén y llegará el lunes."},
    {NULL, "La commande sera livrée entre le 12/04 et le 15/04. Point de retrait : bureau de poste."},
    {NULL, "Il pacco è stato spedito con BRT. Numero di spedizione: 0123456789012."},
    {NULL, "We have refunded €24.90 to your original payment method. The balance of 1,250.00 is unchanged."},
    {NULL, "Thanks for your feedback about the lid. We've passed it on to the manufacturer."},
    {NULL, "We'll review the photos and get back to you within 24 hours."},
    {NULL, "The dimensions are 120 x 60 x 75 cm and the weight is 32 kg."},
    {NULL, "The battery lasts 8-10 hours; charging takes 2 hours with the 5V 2A adapter."},
    {NULL, "Your replacement will arrive tomorrow.Thanks for your patience."},
    {NULL, "We noticed the address is missing a flat number. Could you confirm it so the courier can deliver?"},
    {NULL, "Happy to help! The replacement strap went out today."},
    {NULL, "The set contains 3 pieces: sizes S, M and L."},
    {NULL, "Please use the Return Center in Your Orders to print your prepaid label."},
    {NULL, "The lamp uses an E27 bulb, max 60 W. Item weight: 1.2 kg."},
    {NULL, "Yes, it is compatible with the iPhone 15 Pro and Samsung Galaxy S24."},
    {NULL, "Puede seguir el envío desde Mis pedidos. Gracias por su paciencia."},
    {NULL, "Wir prüfen Ihre Anfrage und melden uns innerhalb von 24 Stunden."},
    {NULL, "Nous avons bien reçu votre retour. Le remboursement sera effectué sous 48 heures."},
    {NULL, "Abbiamo ricevuto il reso. Il rimborso verrà emesso entro 3 giorni lavorativi."},
    {NULL, "The case fits phones up to 6.7 inches. Colour options: black, navy and sage."},
    {NULL, "I'm sorry for the delay. The carrier estimates delivery between 9:00 and 13:00 on Friday."},
    {NULL, "Your invoice (INV-2024-08813) is available in Your Orders."},
    {NULL, "The lens is rated IP68 and the unit is 5-star energy rated."},
    {NULL, "You can find the size chart on the product page: https://www.amazon.com/dp/B0BZ7Q4LNM"},
    {NULL, "We apologise: the part number printed on the box (P/N 55-1029-3) is wrong; the correct one is 55-1029-4."},
    {NULL, "Der Akku hat 5000 mAh und lädt in 2 Stunden. Die Lieferung erfolgt mit DHL."},
    {NULL, "Sorry, that colour is sold out. We can send the grey one at the same price or cancel the order."},
    {NULL, "Delivery is scheduled for 10/12. Please make sure someone is at home to sign."},
    {NULL, "We sent it via Royal Mail Tracked 48, reference AB123456789GB."},
    {NULL, "Thank you for your message. Your parcel will arrive Monday between 8am and 12pm."},
    {NULL, "The next order from our supplier arrives on Monday, so we can ship your replacement then."},
    {NULL, "Thank you for reaching out. The replacement has shipped and should arrive by Friday."},
    {NULL, "Could you send us a photo of the damaged corner? You can attach it to this message."},
    {NULL, "We are sorry, the item is out of stock. We have cancelled the order and issued a full refund."},
    {NULL, "Please contact us here if you have any other questions about this order."},
    {NULL, "Le colis a été remis au transporteur. Vous pouvez suivre la livraison dans Vos commandes."},
    {NULL, "Il prodotto è compatibile con il modello XR-500. La batteria dura circa 8 ore."},
    {NULL, "Die Rücksendung ist kostenlos. Bitte nutzen Sie das Etikett aus Ihrem Konto."},
    {NULL, "El tamaño es 30 x 40 cm y pesa 2,5 kg. Incluye tornillos y tacos."},
    {NULL, "Your order contains 2 items: the lamp (ASIN B0C1234567) and 4 bulbs."},
    {NULL, "The engraving will read: 'For Mum, love always – 12.05.2024'."},
    {NULL, "We will rate-limit the shipments? No: both parcels leave today."},
    {NULL, "Our records show the package was signed for by J. SMITH at 10:42."},
    {NULL, "Please check the voltage: this model works with 220-240 V only."},
    {NULL, "I have issued a partial refund of £5.00 for the missing screws."},
    {NULL, "The code on the box (LOT 2024-117) tells us the production batch."},
  };
  RUN(cs);
}

static void test_link(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"link", "Find the manual at ѕhop-manuals.com/x200"},
    {"link", "Manual: example[.]com/manual"},
    {"link", "See trendyhome dot com for details."},
    {"link", "Go to ｓｈｏｐ．ｃｏｍ for more."},
    {"link", "More at http://www.amazon.com/dp/B08XK2Q9ZL"},
    {"link", "Track here: https://tinyurl.com/abc123"},
    {"link", "Photos: hxxp://imgur.com/a/x"},
    {"link", "Our shop: shop.co.uk"},
    {"link", "<p>Your order shipped.</p><img src=\"http://track.example.net/p.gif\" width=\"1\" height=\"1\">"},
    {"link", "<p>See <a href=\"https://evil.example.org/x\">this page</a>.</p>"},
    {"link", "Setup video: youtube.com/watch?v=abc123"},
    {"link", "Go to northpeak .com for more colours."},
    /* a look-alike letter in the marketplace's own domain is not the marketplace */
    {"link", "Manual here: https://www.\u0430mazon.de/dp/B08LQ4ZK7T"},
    {"off_platform", "Refund form: https://\u0430mazon.com/refund"},
    {"link", "Manual: https://www.amazon\uff0ede/dp/B08LQ4ZK7T"},
  };
  RUN(cs);
}

static void test_email(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"email", "Write to john at gmail dot com"},
    {"email", "Contact: sales[at]brightnest-home[dot]com"},
    {"email", "mail: info@shop.de"},
    {"email", "Email: j o h n @ g m a i l . c o m"},
    {"email", "Send it to support\u200b@example.co.uk please"},
    {"email", "Email me: mark dot hollis at gmail dot com"},
    /* reserved names (RFC 2606) are not public suffixes, and still addresses */
    {"email", "Questions? anna.berg@northpeak.test answers within the hour."},
    {"email", "Schreiben Sie an service@halden-tools.example"},
    {"link", "Manual: https://docs.northpeak.test/manual.pdf"},
    {NULL, "The file is named report.test and the log is out.invalid here."},
  };
  RUN(cs);
}

static bool has_rule(const char *text, const char *rule) {
  policy_verdict v;
  assert_int_equal(policy_scan(cfg, text, strlen(text), &v), PL_OK);
  bool found = false;
  for (size_t k = 0; k < v.nfindings; k++) found = found || !strcmp(v.findings[k].rule, rule);
  policy_verdict_free(&v);
  return found;
}

/* The marketplace's own domain in another country is a link to leave, not a look-alike;
 * a host that only wears the name is both. */
static void test_brand_domains(void **state) {
  (void)state;
  assert_true(has_rule("See https://www.amazon.fr/dp/B08LQ4ZK7T", "link.external"));
  assert_false(has_rule("See https://www.amazon.fr/dp/B08LQ4ZK7T", "off_platform.lookalike_domain"));
  assert_false(has_rule("See https://www.amazon.com.mx/dp/B08LQ4ZK7T", "off_platform.lookalike_domain"));
  assert_true(has_rule("See https://amazon-refunds.com/claim", "off_platform.lookalike_domain"));
  assert_true(has_rule("See https://www.amazon.de.refund-help.com/form", "off_platform.lookalike_domain"));
}

/* A spelled-out "at" before a spaced-out domain is a link, not an address: the spaced
 * run's dot is not a spelled dot. */
static void test_spaced_domain_after_at(void **state) {
  (void)state;
  const char *t = "More at n o r t h p e a k . c o m today.";
  assert_true(has_rule(t, "link.obfuscated"));
  assert_false(has_rule(t, "email.address"));
  assert_true(has_rule("Write to anna at northpeak dot com", "email.address"));
}

/* Exceptions (not-CATEGORY rules) clear only what they overlap in their category. */
static void test_exceptions(void **state) {
  (void)state;
  static const tcase cs[] = {
    {NULL, "Because the delivery was late, we refunded $8 as a discount on this order."},
    {NULL, "Wegen der Verspätung haben wir Ihnen 5 € als Rabatt auf diese Bestellung erstattet."},
    {NULL, "Le abbiamo applicato uno sconto del 10% su questo ordine come risarcimento."},
    {NULL, "We don't need your IBAN, the refund goes back to your card automatically."},
    {"promotion", "We refunded $8 as a discount on this order. Use code SAVE10 for 10% off your next order!"},
    {"promotion", "Get a 10% discount on your next order with code THANKS10."},
    {"personal_data", "Please send us your IBAN so we can refund you."},
  };
  RUN(cs);
}

static void test_phone(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"phone", "Call +44 20 7946 0958 any time."},
    {"phone", "Our number: 0049 30 12345678"},
    {"phone", "Ring us on 020 7946 0958."},
    {"phone", "You can reach me at 555.123.4567."},
    {"phone", "Llámenos al nueve uno dos tres cuatro cinco seis siete ocho."},
    {"phone", "Rufen Sie an: null drei null eins zwei drei vier fünf sechs sieben."},
    {"phone", "Chiamaci al 333 123 4567."},
    {"phone", "Appelez le zéro six douze... non: zero six un deux trois quatre cinq six sept huit."},
    /* every spelled digit of every language (the detector's word list is searched by halves) */
    {"phone", "Text me: zero one two three four five six seven eight nine, or oh two."},
    {"phone", "Llama al cero uno dos tres cuatro cinco seis siete ocho nueve."},
    {"phone", "Meine Nummer: null eins zwei zwo drei vier fünf sechs sieben acht neun."},
    {"phone", "Mon numéro : zéro un une deux trois quatre cinq six sept huit neuf."},
    {"phone", "Il mio numero: zero uno due tre quattro cinque sei sette otto nove."},
    {"phone", "Tel. 089/1234567"},
    {"phone", "Meine Handynummer ist 0171-1234567."},
    {"phone", "Telefonnummer: 030 12345678"},
    {"phone", "Ring us: 07 7OO 9OO 123"}, /* the letter O for zero */
    {"phone", "WhatsApp: 0044 7700 900 123"},
  };
  RUN(cs);
}

/* The phone finding of text, exactly: its original text, or NULL when the message must be
 * delivered without any finding. */
typedef struct {
  const char *phone;
  const char *text;
} pcase;

static void run_phones(const pcase *cs, size_t n) {
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    policy_verdict v;
    assert_int_equal(policy_scan(cfg, cs[i].text, strlen(cs[i].text), &v), PL_OK);
    bool ok;
    if (!cs[i].phone) {
      ok = v.action == POLICY_DELIVER && v.nfindings == 0;
    } else {
      ok = false;
      for (size_t k = 0; k < v.nfindings; k++)
        if (!strcmp(v.findings[k].category, "phone") && !strcmp(v.findings[k].text, cs[i].phone))
          ok = v.action == POLICY_REJECT;
    }
    if (!ok) {
      failed++;
      fprintf(stderr, "  want %s, got %s: %s\n", cs[i].phone ? cs[i].phone : "deliver", policy_action_name(v.action),
              cs[i].text);
      for (size_t k = 0; k < v.nfindings; k++)
        fprintf(stderr, "      %s %s '%s'\n", v.findings[k].category, v.findings[k].rule, v.findings[k].text);
    }
    policy_verdict_free(&v);
  }
  assert_int_equal(failed, 0);
}

/* Tax and company identifiers on invoices are not phone numbers when they stand as such
 * (a label before them, or their country prefix in capitals), in every language; a phone
 * number dressed up as one is still found. */
static void test_business_ids(void **state) {
  (void)state;
  static const pcase cs[] = {
    {NULL, "Our VAT registration number is GB 284 5916 73; it is printed on the invoice."},
    {NULL, "VAT reg. no. 284 5916 73, registered in England and Wales."},
    {NULL, "Company number 11482907, registered in England and Wales."},
    {NULL, "Our EIN is 84-3917260 for your accounts team."},
    {NULL, "ABN 51 824 753 556 is on the tax invoice."},
    {NULL, "Our KvK number is 71842093, as on the invoice."},
    {NULL, "The IMEI of the returned phone is 356938035643809, not the one we sent (356938035612770)."},
    {NULL, "Unsere USt-IdNr. lautet 284 719 353, sie steht auf der Rechnung."},
    {NULL, "Die Rechnung nennt unsere Umsatzsteuer-ID DE 314 875 092."},
    {NULL, "Notre numéro SIRET est le 812 943 579 00027 ; il figure sur chaque facture."},
    {NULL, "SIREN 812 943 579, numéro de TVA FR 04 812 943 579."},
    {NULL, "Ecco i dati per la fattura: Partita IVA 03927184063, REA MI-2087451."},
    {NULL, "I dati della società coincidono con la partita IVA, 03927184063."},
    {NULL, "Our Italian VAT number is IT 04718290963."},
    {NULL, "En la factura aparece nuestro NIF 48215736 P y el CIF de la empresa."},
    {NULL, "Datos para su factura: NIF B76284314, calle de la Paz 14, 46003 Valencia."},
    /* a phone number after an identifier's label, without the identifier's shape */
    {"07700 900123", "VAT 07700 900123 call me"},
    {"07700 900123", "VAT no 07700 900123 call me"},
    {"0151 496 0000", "Prices include VAT, questions to 0151 496 0000."},
    {"020 7946 0958", "USt-IdNr. 020 7946 0958"},
    {"333 123 4567", "Partita IVA 333 123 4567"},
    /* the identifier's shape, but a call is asked for */
    {"11482907", "Company number 11482907 ring us"},
    {"284 5916 73", "VAT 284 5916 73 - call us"},
    {"04718290963", "Chiamaci: P.IVA 04718290963"},
    /* a country code in lower case is a word, not a prefix; "it" needs a label */
    {"04718290963", "Just send it 04718290963 and we talk."},
    {"+44 20 7946 0958", "VAT GB +44 20 7946 0958"},
  };
  run_phones(cs, sizeof cs / sizeof cs[0]);
}

/* A number that is surely a phone's (after +, in brackets, after a phone word) is found
 * even when other digits follow it ("- 24/7", "10% off", "24h"). */
static void test_phone_run_on(void **state) {
  (void)state;
  static const pcase cs[] = {
    {"+44 20 7946 0958", "Our number is +44 20 7946 0958 - 24/7."},
    {"+44 20 7946 0958", "Call +44 20 7946 0958 24h a day."},
    {"+44 20 7946 0958", "Call +44 20 7946 0958 10% cheaper than here."},
    {"+44 20 7946 0958", "Our London office: +44 20 7946 0958, 2 lines."},
    {"020 7946 0958", "Ring 020 7946 0958 - 5 lines."},
    {"+49 30 1234567", "Rufen Sie an: +49 30 1234567 / 8"},
    /* a reference with a check digit stays a reference */
    {NULL, "Your return number is 55-1029-3, please write it on the box."},
  };
  run_phones(cs, sizeof cs / sizeof cs[0]);
}

/* A platform named in a refusal or as a product feature is not an invitation to leave, in
 * every language; a real invitation beside such a mention still is. */
static void test_platform_context(void **state) {
  (void)state;
  static const tcase cs[] = {
    {NULL, "Sorry, we can't accept PayPal or a bank transfer for the extra cover."},
    {NULL, "We can't move this conversation to email or phone, I'm afraid."},
    {NULL, "Please don't pay anyone outside the marketplace for this order."},
    {NULL, "The headset works with WhatsApp calls and Zoom meetings on Android."},
    {NULL, "The webcam is certified for Microsoft Teams and works out of the box with Google Meet and Skype."},
    {NULL, "The watch shows notifications from Telegram, but you can't reply from the watch."},
    {NULL, "The frame doesn't connect to Facebook directly; photos come from the SD card."},
    {NULL, "The stand holds an iPhone in landscape for FaceTime calls."},
    {NULL, "Über WhatsApp oder Telegram dürfen wir Sie leider nicht kontaktieren."},
    {NULL, "Wir können leider keine PayPal-Zahlung annehmen, bezahlt wird an der Kasse."},
    {NULL, "Der Lautsprecher funktioniert auch mit WhatsApp-Anrufen und Skype."},
    {NULL, "Nous ne pouvons pas échanger avec vous par WhatsApp ni par téléphone."},
    {NULL, "Le casque fonctionne avec WhatsApp et Skype sur Android."},
    {NULL, "Lo sentimos, pero no podemos atenderle por WhatsApp."},
    {NULL, "Es ideal para grabar vídeos para Instagram o TikTok."},
    {NULL, "Non possiamo accettare pagamenti con PayPal o bonifico."},
    {NULL, "Le cuffie funzionano con WhatsApp e Skype, anche su iPhone."},
    /* a refusal or a feature does not cover what comes after it */
    {"off_platform", "We can't accept PayPal, but you can pay me on Venmo."},
    {"off_platform", "We can't accept PayPal here. Message me on WhatsApp instead."},
    {"off_platform", "The headset works with WhatsApp calls. WhatsApp me for a discount."},
    {"off_platform", "Works with Skype - add me on Skype: shop.owner"},
    {"off_platform", "Let's connect with WhatsApp, it is quicker."},
    {"off_platform", "Über WhatsApp dürfen wir nicht, aber schreiben Sie mir auf Telegram."},
    {"off_platform", "Nous ne pouvons pas accepter PayPal ici, écrivez-nous sur WhatsApp."},
    {"off_platform", "No podemos aceptar PayPal aquí; escríbanos por WhatsApp."},
    {"off_platform", "Non possiamo accettare PayPal qui, ci scriva su WhatsApp."},
    {"phone", "The headset works with WhatsApp calls: +44 7700 900123."},
  };
  RUN(cs);
}

/* A promotion explained and personal data that is never asked for are not findings, in
 * every language; an offer or a request beside them still is. */
static void test_explained_context(void **state) {
  (void)state;
  static const tcase cs[] = {
    {NULL, "Black Friday volume has backed up the hubs, so your parcel is two days late."},
    {NULL, "The coupon you saw at checkout was the marketplace's own promotion, not ours."},
    {NULL, "The 'Buy 2, save 10%' banner was a marketplace promotion that ended on 30 November."},
    {NULL, "The 'free gift' mentioned on the listing is the cotton storage bag."},
    {NULL, "The discount code in your basket belongs to another seller's promotion."},
    {NULL, "We will never ask for your bank details, card number or account password."},
    {NULL, "We don't sell through any other website or social media account."},
    {NULL, "Wir werden Sie niemals nach Ihren Bankdaten, einer PIN oder einem Passwort fragen."},
    {NULL, "Unsere Steuernummer lautet 21/815/08150 und steht auf jeder Rechnung."},
    {NULL, "Nous ne vous demanderons jamais vos coordonnées bancaires."},
    {NULL, "Le prix de 34,90 € correspondait aux soldes d'hiver, terminés le 4 février."},
    {NULL, "Nunca le pediremos el número de su tarjeta ni ninguna contraseña."},
    {NULL, "Los 29,95 € fueron un precio puntual del Black Friday, válido hasta el 1 de diciembre."},
    {NULL, "Non le chiederemo mai le credenziali del suo account né i dati della carta."},
    {NULL, "Il prezzo di 19,90 € era legato ai saldi estivi, terminati il 31 agosto."},
    {NULL, "Il codice fiscale della società coincide con la partita IVA."},
    /* the seller's own offer or request beside the explanation */
    {"promotion", "Black Friday volume is huge: use code FRIDAY for 30% off your next order."},
    {"promotion", "The coupon you saw at checkout was ours; here is another: SAVE20 for 20% off."},
    {"promotion", "Our Black Friday sale starts tomorrow, everything 30% off!"},
    {"personal_data", "We never ask for your password, but send us your card number here."},
    {"personal_data", "Bitte senden Sie uns Ihre Steuernummer und Ihr Geburtsdatum."},
    {"personal_data", "Ci serve il suo codice fiscale per la spedizione."},
  };
  RUN(cs);
}

static void test_off_platform(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"off_platform", "Message us on WhatsApp for a faster reply."},
    {"off_platform", "Text me on Telegram: @shopbest"},
    {"off_platform", "Add me on WeChat so we can sort this out."},
    {"off_platform", "Please pay via PayPal friends and family."},
    {"off_platform", "Visit our website for the full manual."},
    {"off_platform", "Contact us directly and we can sort it out without the marketplace."},
    {"off_platform", "Schreiben Sie uns per WhatsApp, dann geht es schneller."},
    {"off_platform", "Besuchen Sie unseren Onlineshop für weitere Modelle."},
    {"off_platform", "Contáctenos directamente por correo electrónico."},
    {"off_platform", "Visitez notre site web pour plus d'informations."},
    {"off_platform", "Visiti il nostro sito per altri modelli."},
    {"off_platform", "Follow us on Instagram for updates!"},
    {"off_platform", "We can refund you directly via bank transfer, much quicker."},
    {"off_platform", "For quicker support, reach us on WhatsApp."},
    {"off_platform", "You can also buy it cheaper on our own site."},
  };
  RUN(cs);
}

static void test_review_request(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"review_request", "Would you mind leaving us a review?"},
    {"review_request", "Please leave feedback for this order."},
    {"review_request", "Please rate your experience with us."},
    {"review_request", "We'd love to hear your feedback on Amazon."},
    {"review_request", "A positive review helps small businesses like ours."},
    {"review_request", "If you are satisfied with your purchase, please let others know."},
    {"review_request", "We will refund you in full if you remove your negative review."},
    {"review_request", "Could you update your rating now that the issue is solved?"},
    {"review_request", "Please give us five stars!"},
    {"review_request", "Pl3ase leave a rev1ew"},
    {"review_request", "Please leave a r e v i e w on the product page."},
    {"review_request", "Déjenos una reseña positiva, por favor."},
    {"review_request", "Bitte hinterlassen Sie eine positive Bewertung."},
    {"review_request", "N'hésitez pas à laisser un avis sur le produit."},
    {"review_request", "Ci lasci una recensione a 5 stelle!"},
    {"review_request", "We will send you a free gift in exchange for an honest review."},
    {"review_request", "How did we do? Tell us about your experience in a review."},
    {"review_request", "Your opinion matters! Please rate the product once it arrives."},
    {"review_request", "Wir freuen uns über Ihre Bewertung!"},
    {"review_request", "Nos encantaría conocer su opinión en Amazon."},
    {"review_request", "Votre avis compte : laissez-nous une note !"},
  };
  RUN(cs);
}

static void test_promotion(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"promotion", "Use code SAVE20 at checkout for 20% off."},
    {"promotion", "Get 10% off your next purchase with us."},
    {"promotion", "Check out our new collection of garden tools."},
    {"promotion", "Our Black Friday sale starts tomorrow."},
    {"promotion", "Sign up for our newsletter to get exclusive deals."},
    {"promotion", "Mit dem Gutscheincode DANKE10 sparen Sie 10 % bei Ihrer nächsten Bestellung."},
    {"promotion", "Obtenga un 15 % de descuento en su próxima compra."},
    {"promotion", "Utilisez le code promo MERCI pour -10 %."},
    {"promotion", "Usa il codice sconto GRAZIE10 sul tuo prossimo ordine."},
    {"promotion", "Don't forget: all our candles are 30% off until Sunday."},
    {"promotion", "Approfitta dello sconto del 20% sul tuo prossimo acquisto."},
  };
  RUN(cs);
}

static void test_emoji(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"emoji", "Thank you 🙏"},
    {"emoji", "Great news 👍🏽 it shipped"},
    {"emoji", "Shipped ✔ arriving soon"},
    {"emoji", "Enjoy ☺"},
  };
  RUN(cs);
}

static void test_personal_data(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"personal_data", "Please send a photo of your passport to confirm the return."},
    {"personal_data", "What is your mother's maiden name?"},
    {"personal_data", "Reply with your login password so we can check your account."},
    {"personal_data", "Envíenos su DNI y su fecha de nacimiento."},
    {"personal_data", "Bitte schicken Sie uns eine Kopie Ihres Personalausweises."},
    {"personal_data", "Merci de nous communiquer votre date de naissance."},
    {"personal_data", "Ci invii il suo codice fiscale e la data di nascita."},
    {"personal_data", "Please provide your CVV to complete the refund."},
    {"personal_data", "To process the refund we need your full credit card number."},
  };
  RUN(cs);
}

static void test_formatting(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"formatting", "Hello\n\n\n\nYour order shipped."},
    {"formatting", "Your order shipped!!!!"},
    {"formatting", "=============\nORDER UPDATE\n============="},
    {"formatting", "PLEASE READ THIS MESSAGE CAREFULLY BEFORE YOU OPEN THE BOX."},
    {"formatting", "•••••••••• Thank you ••••••••••"},
  };
  RUN(cs);
}

static void test_profanity(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"profanity", "What a stupid question."},
    {"profanity", "Don't be such an idiot."},
    {"profanity", "This is bullshit, we shipped it."},
    {"profanity", "Sei proprio uno stupido."},
    {"profanity", "Du bist ein Vollidiot."},
    {"profanity", "Quel crétin, lisez la notice."},
    {"profanity", "No sea imbécil, lea el manual."},
    {"profanity", "Are you blind? It says so in the description, you clown."},
  };
  RUN(cs);
}

static void test_important_tag(void **state) {
  (void)state;
  static const tcase cs[] = {
    {"important_tag", "[IMPORTANT] Your parcel is delayed."},
    {"important_tag", "【Important】 Your parcel is delayed."},
    {"important_tag", "[Wichtig] Ihre Lieferung verzögert sich."},
    {"important_tag", "[Importante] Su pedido se retrasa."},
  };
  RUN(cs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_false_positive_traps),
    cmocka_unit_test(test_link),
    cmocka_unit_test(test_email),
    cmocka_unit_test(test_phone),
    cmocka_unit_test(test_business_ids),
    cmocka_unit_test(test_phone_run_on),
    cmocka_unit_test(test_platform_context),
    cmocka_unit_test(test_explained_context),
    cmocka_unit_test(test_brand_domains),
    cmocka_unit_test(test_exceptions),
    cmocka_unit_test(test_spaced_domain_after_at),
    cmocka_unit_test(test_off_platform),
    cmocka_unit_test(test_review_request),
    cmocka_unit_test(test_promotion),
    cmocka_unit_test(test_emoji),
    cmocka_unit_test(test_personal_data),
    cmocka_unit_test(test_formatting),
    cmocka_unit_test(test_profanity),
    cmocka_unit_test(test_important_tag),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
