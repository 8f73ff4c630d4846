/* sla_ack.c - tells acknowledgement-only auto-replies from substantive answers.
 *
 * A reply that only acknowledges ("Thanks for your message, we'll get back to you
 * within 24 hours") must not stop the buyer's 24-hour clock. The detector is data:
 * phrase lists per language, matched over a folded word sequence. A text is an
 * acknowledgement when it contains at least one acknowledgement phrase and every
 * other word belongs to a neutral phrase (greetings, thanks, time frames, closings),
 * except a name after a greeting, a company name after "thank you for contacting",
 * and a short signature after a closing. Anything else is taken as substance: a
 * false "auto-reply" would discount a real answer, so when unsure the answer is no. */
#include "sla/sla.h"

#include <string.h>

typedef enum {
  P_ACK,   /* says the message was received / will be answered / nobody is there */
  P_FILL,  /* neutral words around an acknowledgement */
  P_GREET, /* may be followed by a name */
  P_CLOSE, /* may be followed by a short signature */
  P_NAME,  /* an acknowledgement that may be followed by a company name */
} pclass;

typedef struct {
  const char *words; /* folded: lower case, no accents, '#' for a number */
  pclass cls;
} phrase;

/* Folding maps ü to u and ß to ss, so German phrases are written that way. */
static const phrase PHRASES[] = {
    /* ---- English -------------------------------------------------------------- */
    {"thank you for your message", P_ACK},
    {"thanks for your message", P_ACK},
    {"thank you for the message", P_ACK},
    {"thank you for your email", P_ACK},
    {"thanks for your email", P_ACK},
    {"thank you for your e mail", P_ACK},
    {"thank you for your inquiry", P_ACK},
    {"thank you for your enquiry", P_ACK},
    {"thanks for your inquiry", P_ACK},
    {"thanks for your enquiry", P_ACK},
    {"thank you for your question", P_ACK},
    {"thanks for your question", P_ACK},
    {"thank you for your request", P_ACK},
    {"thank you for writing", P_ACK},
    {"thanks for writing", P_ACK},
    {"thank you for reaching out", P_ACK},
    {"thanks for reaching out", P_ACK},
    {"thank you for getting in touch", P_ACK},
    {"thanks for getting in touch", P_ACK},
    {"thank you for contacting", P_NAME},
    {"thanks for contacting", P_NAME},
    {"we have received your", P_ACK},
    {"we ve received your", P_ACK},
    {"we received your", P_ACK},
    {"we have got your", P_ACK},
    {"we got your", P_ACK},
    {"has been received", P_ACK},
    {"have been received", P_ACK},
    {"this is to confirm that we have received your", P_ACK},
    {"confirm receipt of your", P_ACK},
    {"we will get back to you", P_ACK},
    {"we ll get back to you", P_ACK},
    {"will get back to you", P_ACK},
    {"we will get back", P_ACK},
    {"we ll get back", P_ACK},
    {"we will respond", P_ACK},
    {"we ll respond", P_ACK},
    {"will respond to your", P_ACK},
    {"we will reply", P_ACK},
    {"we ll reply", P_ACK},
    {"will reply to your", P_ACK},
    {"we will answer", P_ACK},
    {"will respond", P_ACK},
    {"will reply", P_ACK},
    {"will answer", P_ACK},
    {"respond to your", P_ACK},
    {"reply to your", P_ACK},
    {"get back to you", P_ACK},
    {"this is an automated response", P_ACK},
    {"this is an automated message", P_ACK},
    {"this is an automatic reply", P_ACK},
    {"this is an automatic response", P_ACK},
    {"we ll answer", P_ACK},
    {"we will be in touch", P_ACK},
    {"we ll be in touch", P_ACK},
    {"will be in touch", P_ACK},
    {"we will contact you", P_ACK},
    {"we ll contact you", P_ACK},
    {"we will look into", P_ACK},
    {"we ll look into", P_ACK},
    {"a member of our team will", P_ACK},
    {"one of our agents will", P_ACK},
    {"one of our team members will", P_ACK},
    {"out of office", P_ACK},
    {"out of the office", P_ACK},
    {"away from the office", P_ACK},
    {"away from my desk", P_ACK},
    {"on holiday", P_ACK},
    {"on vacation", P_ACK},
    {"on annual leave", P_ACK},
    {"limited access to email", P_ACK},
    {"limited access to my email", P_ACK},
    {"no access to email", P_ACK},
    {"auto reply", P_ACK},
    {"autoreply", P_ACK},
    {"automatic reply", P_ACK},
    {"automatic response", P_ACK},
    {"automated response", P_ACK},
    {"automated reply", P_ACK},
    {"automated message", P_ACK},
    {"auto response", P_ACK},
    {"this is an automated", P_ACK},
    {"this is an automatic", P_ACK},
    {"this message was sent automatically", P_ACK},
    {"please do not reply to this", P_ACK},
    {"do not reply to this", P_ACK},
    {"we are currently closed", P_ACK},
    {"our office is closed", P_ACK},
    {"upon my return", P_ACK},
    {"when i return", P_ACK},
    {"when i am back", P_ACK},
    {"when we return", P_ACK},
    {"i will be back on", P_ACK},
    {"i will return on", P_ACK},
    {"back in the office", P_ACK},
    {"as soon as possible", P_FILL},
    {"as soon as we can", P_FILL},
    {"at our earliest convenience", P_FILL},
    {"at the earliest", P_FILL},
    {"the next business day", P_FILL},
    {"the next working day", P_FILL},
    {"during business hours", P_FILL},
    {"during our business hours", P_FILL},
    {"outside our business hours", P_FILL},
    {"outside business hours", P_FILL},
    {"outside of business hours", P_FILL},
    {"within # hours", P_FILL},
    {"within # h", P_FILL},
    {"within # business days", P_FILL},
    {"within # business day", P_FILL},
    {"within # working days", P_FILL},
    {"within # days", P_FILL},
    {"within one business day", P_FILL},
    {"within a day", P_FILL},
    {"within a few hours", P_FILL},
    {"within the next # hours", P_FILL},
    {"in the next # hours", P_FILL},
    {"thank you for your patience", P_FILL},
    {"thanks for your patience", P_FILL},
    {"thank you for your understanding", P_FILL},
    {"for your patience", P_FILL},
    {"thank you very much", P_FILL},
    {"thank you", P_FILL},
    {"thanks", P_FILL},
    {"many thanks", P_FILL},
    {"hello", P_GREET},
    {"hi", P_GREET},
    {"hey", P_GREET},
    {"dear", P_GREET},
    {"good morning", P_GREET},
    {"good afternoon", P_GREET},
    {"good evening", P_GREET},
    {"greetings", P_GREET},
    {"dear customer", P_FILL},
    {"dear buyer", P_FILL},
    {"best regards", P_CLOSE},
    {"kind regards", P_CLOSE},
    {"warm regards", P_CLOSE},
    {"regards", P_CLOSE},
    {"sincerely", P_CLOSE},
    {"yours sincerely", P_CLOSE},
    {"best wishes", P_CLOSE},
    {"cheers", P_CLOSE},
    {"have a nice day", P_FILL},
    {"have a great day", P_FILL},
    {"customer service", P_FILL},
    {"customer support", P_FILL},
    {"customer care", P_FILL},
    {"support team", P_FILL},
    {"the team", P_FILL},
    {"team", P_FILL},
    {"message", P_FILL},
    {"inquiry", P_FILL},
    {"enquiry", P_FILL},
    {"email", P_FILL},
    {"e mail", P_FILL},
    {"request", P_FILL},
    {"question", P_FILL},
    {"shortly", P_FILL},
    {"soon", P_FILL},
    {"promptly", P_FILL},
    {"asap", P_FILL},
    {"again", P_FILL},
    {"please", P_FILL},
    {"note", P_FILL},
    {"that", P_FILL},
    {"and", P_FILL},
    {"we", P_FILL},
    {"you", P_FILL},
    {"us", P_FILL},
    {"i", P_FILL},
    {"i m", P_FILL},
    {"i am", P_FILL},
    {"for the holidays", P_FILL},
    {"holidays", P_FILL},
    {"response", P_FILL},
    {"am", P_FILL},
    {"pm", P_FILL},
    {"to", P_FILL},
    {"the", P_FILL},
    {"a", P_FILL},
    {"your", P_FILL},
    {"our", P_FILL},
    {"my", P_FILL},
    {"it", P_FILL},
    {"will", P_FILL},
    {"is", P_FILL},
    {"are", P_FILL},
    {"currently", P_FILL},
    {"until", P_FILL},
    {"till", P_FILL},
    {"from", P_FILL},
    {"on", P_FILL},
    {"in", P_FILL},
    {"by", P_FILL},
    {"of", P_FILL},
    {"for", P_FILL},
    {"with", P_FILL},
    {"#", P_FILL},
    /* ---- Spanish --------------------------------------------------------------- */
    {"gracias por su mensaje", P_ACK},
    {"gracias por tu mensaje", P_ACK},
    {"gracias por su consulta", P_ACK},
    {"gracias por tu consulta", P_ACK},
    {"gracias por escribirnos", P_ACK},
    {"gracias por contactarnos", P_ACK},
    {"gracias por ponerse en contacto", P_ACK},
    {"gracias por ponerte en contacto", P_ACK},
    {"gracias por contactar con", P_NAME},
    {"hemos recibido su", P_ACK},
    {"hemos recibido tu", P_ACK},
    {"recibimos su", P_ACK},
    {"recibimos tu", P_ACK},
    {"le responderemos", P_ACK},
    {"te responderemos", P_ACK},
    {"le contestaremos", P_ACK},
    {"te contestaremos", P_ACK},
    {"nos pondremos en contacto", P_ACK},
    {"fuera de la oficina", P_ACK},
    {"fuera de oficina", P_ACK},
    {"respuesta automatica", P_ACK},
    {"mensaje automatico", P_ACK},
    {"estoy de vacaciones", P_ACK},
    {"estamos cerrados", P_ACK},
    {"a mi regreso", P_ACK},
    {"lo antes posible", P_FILL},
    {"a la mayor brevedad", P_FILL},
    {"a la mayor brevedad posible", P_FILL},
    {"en breve", P_FILL},
    {"en un plazo de # horas", P_FILL},
    {"en un plazo maximo de # horas", P_FILL},
    {"en las proximas # horas", P_FILL},
    {"dentro de # horas", P_FILL},
    {"en menos de # horas", P_FILL},
    {"en # horas", P_FILL},
    {"dias habiles", P_FILL},
    {"hola", P_GREET},
    {"buenos dias", P_GREET},
    {"buenas tardes", P_GREET},
    {"estimado", P_GREET},
    {"estimada", P_GREET},
    {"estimado cliente", P_FILL},
    {"estimada cliente", P_FILL},
    {"saludos", P_CLOSE},
    {"un saludo", P_CLOSE},
    {"saludos cordiales", P_CLOSE},
    {"atentamente", P_CLOSE},
    {"cordialmente", P_CLOSE},
    {"muchas gracias", P_FILL},
    {"gracias", P_FILL},
    {"atencion al cliente", P_FILL},
    {"el equipo de", P_CLOSE},
    {"equipo", P_FILL},
    {"su", P_FILL},
    {"tu", P_FILL},
    {"y", P_FILL},
    {"el", P_FILL},
    {"la", P_FILL},
    {"mensaje", P_FILL},
    {"consulta", P_FILL},
    {"correo", P_FILL},
    {"hasta el", P_FILL},
    {"hasta", P_FILL},
    /* ---- German ---------------------------------------------------------------- */
    {"vielen dank fur ihre nachricht", P_ACK},
    {"danke fur ihre nachricht", P_ACK},
    {"vielen dank fur deine nachricht", P_ACK},
    {"danke fur deine nachricht", P_ACK},
    {"vielen dank fur ihre anfrage", P_ACK},
    {"danke fur ihre anfrage", P_ACK},
    {"vielen dank fur ihre e mail", P_ACK},
    {"danke fur ihre e mail", P_ACK},
    {"vielen dank fur ihre mail", P_ACK},
    {"wir haben ihre nachricht erhalten", P_ACK},
    {"wir haben ihre anfrage erhalten", P_ACK},
    {"wir haben ihre e mail erhalten", P_ACK},
    {"ihre nachricht ist bei uns eingegangen", P_ACK},
    {"ihre anfrage ist bei uns eingegangen", P_ACK},
    {"wir melden uns", P_ACK},
    {"melden uns", P_ACK},
    {"wir werden uns", P_ACK},
    {"werden uns", P_ACK},
    {"bei ihnen melden", P_ACK},
    {"wir antworten ihnen", P_ACK},
    {"wir werden ihnen", P_ACK},
    {"antworten", P_FILL},
    {"ich bin nicht im buro", P_ACK},
    {"nicht im buro", P_ACK},
    {"ausser haus", P_ACK},
    {"abwesend", P_ACK},
    {"abwesenheitsnotiz", P_ACK},
    {"automatische antwort", P_ACK},
    {"im urlaub", P_ACK},
    {"nach meiner ruckkehr", P_ACK},
    {"so schnell wie moglich", P_FILL},
    {"schnellstmoglich", P_FILL},
    {"in kurze", P_FILL},
    {"umgehend", P_FILL},
    {"innerhalb von # stunden", P_FILL},
    {"innerhalb von # werktagen", P_FILL},
    {"innerhalb von # tagen", P_FILL},
    {"innerhalb der nachsten # stunden", P_FILL},
    {"bis einschliesslich", P_FILL},
    {"hallo", P_GREET},
    {"guten tag", P_GREET},
    {"sehr geehrte damen und herren", P_FILL},
    {"sehr geehrter kunde", P_FILL},
    {"sehr geehrte kundin", P_FILL},
    {"sehr geehrte", P_GREET},
    {"sehr geehrter", P_GREET},
    {"liebe kundin", P_FILL},
    {"lieber kunde", P_FILL},
    {"mit freundlichen grussen", P_CLOSE},
    {"freundliche grusse", P_CLOSE},
    {"viele grusse", P_CLOSE},
    {"beste grusse", P_CLOSE},
    {"vielen dank", P_FILL},
    {"danke", P_FILL},
    {"ihr", P_FILL},
    {"kundenservice", P_FILL},
    {"bei ihnen", P_FILL},
    {"und", P_FILL},
    {"bis", P_FILL},
    {"zum", P_FILL},
    {"ich", P_FILL},
    {"bin", P_FILL},
    /* ---- French ---------------------------------------------------------------- */
    {"merci pour votre message", P_ACK},
    {"merci de votre message", P_ACK},
    {"merci pour ton message", P_ACK},
    {"merci pour votre demande", P_ACK},
    {"merci de votre demande", P_ACK},
    {"merci pour votre e mail", P_ACK},
    {"merci de nous avoir contactes", P_ACK},
    {"merci de nous avoir contacte", P_ACK},
    {"merci de nous contacter", P_ACK},
    {"merci d avoir contacte", P_NAME},
    {"nous avons bien recu votre", P_ACK},
    {"nous avons recu votre", P_ACK},
    {"votre message a bien ete recu", P_ACK},
    {"votre demande a bien ete recue", P_ACK},
    {"nous vous repondrons", P_ACK},
    {"nous reviendrons vers vous", P_ACK},
    {"nous revenons vers vous", P_ACK},
    {"nous vous recontacterons", P_ACK},
    {"nous vous contacterons", P_ACK},
    {"je suis absent", P_ACK},
    {"je suis absente", P_ACK},
    {"absent du bureau", P_ACK},
    {"je suis absent du bureau", P_ACK},
    {"je suis absente du bureau", P_ACK},
    {"absente du bureau", P_ACK},
    {"reponse automatique", P_ACK},
    {"message automatique", P_ACK},
    {"en conges", P_ACK},
    {"en vacances", P_ACK},
    {"a mon retour", P_ACK},
    {"dans les plus brefs delais", P_FILL},
    {"dans les meilleurs delais", P_FILL},
    {"des que possible", P_FILL},
    {"sous # heures", P_FILL},
    {"sous # h", P_FILL},
    {"dans les # heures", P_FILL},
    {"dans les # prochaines heures", P_FILL},
    {"dans un delai de # heures", P_FILL},
    {"sous # jours ouvres", P_FILL},
    {"bonjour", P_GREET},
    {"bonsoir", P_GREET},
    {"madame monsieur", P_FILL},
    {"madame", P_FILL},
    {"monsieur", P_FILL},
    {"cher client", P_FILL},
    {"chere cliente", P_FILL},
    {"cordialement", P_CLOSE},
    {"bien cordialement", P_CLOSE},
    {"salutations", P_CLOSE},
    {"bien a vous", P_CLOSE},
    {"merci beaucoup", P_FILL},
    {"merci", P_FILL},
    {"l equipe", P_CLOSE},
    {"equipe", P_FILL},
    {"demande", P_FILL},
    {"service client", P_FILL},
    {"le service client", P_FILL},
    {"jusqu au", P_FILL},
    {"et", P_FILL},
    {"le", P_FILL},
    {"votre", P_FILL},
    {"nous", P_FILL},
    {"vous", P_FILL},
    /* ---- Italian --------------------------------------------------------------- */
    {"grazie per il tuo messaggio", P_ACK},
    {"grazie per il suo messaggio", P_ACK},
    {"grazie per il messaggio", P_ACK},
    {"grazie per averci contattato", P_ACK},
    {"grazie per averci contattati", P_ACK},
    {"grazie per averci scritto", P_ACK},
    {"grazie per la sua richiesta", P_ACK},
    {"grazie per la tua richiesta", P_ACK},
    {"grazie per aver contattato", P_NAME},
    {"abbiamo ricevuto il tuo", P_ACK},
    {"abbiamo ricevuto il suo", P_ACK},
    {"abbiamo ricevuto la tua", P_ACK},
    {"abbiamo ricevuto la sua", P_ACK},
    {"ti risponderemo", P_ACK},
    {"le risponderemo", P_ACK},
    {"vi risponderemo", P_ACK},
    {"ti ricontatteremo", P_ACK},
    {"la ricontatteremo", P_ACK},
    {"sono fuori ufficio", P_ACK},
    {"fuori ufficio", P_ACK},
    {"risposta automatica", P_ACK},
    {"messaggio automatico", P_ACK},
    {"in ferie", P_ACK},
    {"al mio rientro", P_ACK},
    {"il prima possibile", P_FILL},
    {"al piu presto", P_FILL},
    {"quanto prima", P_FILL},
    {"entro # ore", P_FILL},
    {"entro # giorni lavorativi", P_FILL},
    {"nelle prossime # ore", P_FILL},
    {"ciao", P_GREET},
    {"buongiorno", P_GREET},
    {"buonasera", P_GREET},
    {"gentile cliente", P_FILL},
    {"caro cliente", P_FILL},
    {"gentile", P_GREET},
    {"cordiali saluti", P_CLOSE},
    {"distinti saluti", P_CLOSE},
    {"saluti", P_CLOSE},
    {"grazie mille", P_FILL},
    {"grazie", P_FILL},
    {"servizio clienti", P_FILL},
    {"messaggio", P_FILL},
    {"richiesta", P_FILL},
    {"il", P_FILL},
    {"e", P_FILL},
    {"fino al", P_FILL},
    /* ---- days and months (out-of-office dates) ---------------------------------- */
    {"monday", P_FILL}, {"tuesday", P_FILL}, {"wednesday", P_FILL}, {"thursday", P_FILL},
    {"friday", P_FILL}, {"saturday", P_FILL}, {"sunday", P_FILL},
    {"january", P_FILL}, {"february", P_FILL}, {"march", P_FILL}, {"april", P_FILL},
    {"may", P_FILL}, {"june", P_FILL}, {"july", P_FILL}, {"august", P_FILL},
    {"september", P_FILL}, {"october", P_FILL}, {"november", P_FILL}, {"december", P_FILL},
    {"lunes", P_FILL}, {"martes", P_FILL}, {"miercoles", P_FILL}, {"jueves", P_FILL},
    {"viernes", P_FILL}, {"enero", P_FILL}, {"agosto", P_FILL}, {"diciembre", P_FILL},
    {"montag", P_FILL}, {"dienstag", P_FILL}, {"mittwoch", P_FILL}, {"donnerstag", P_FILL},
    {"freitag", P_FILL}, {"januar", P_FILL}, {"dezember", P_FILL},
    {"lundi", P_FILL}, {"mardi", P_FILL}, {"mercredi", P_FILL}, {"jeudi", P_FILL},
    {"vendredi", P_FILL}, {"janvier", P_FILL}, {"aout", P_FILL}, {"decembre", P_FILL},
    {"lunedi", P_FILL}, {"martedi", P_FILL}, {"mercoledi", P_FILL}, {"giovedi", P_FILL},
    {"venerdi", P_FILL}, {"gennaio", P_FILL}, {"dicembre", P_FILL},
};

/* Answers that a signature or a name slot must never swallow. */
static const char *const SUBSTANTIVE_WORDS[] = {
    "yes", "no", "ok", "okay", "sure", "si", "ja", "nein", "oui", "non", "certo", "claro",
    "shipped", "refund", "tracking",
};

#define MAX_TOKENS 96
#define MAX_NORM 1024
#define MAX_GREET_NAME 2
#define MAX_COMPANY_NAME 3
#define MAX_SIGNATURE 3

typedef struct {
  char norm[MAX_NORM]; /* tokens separated by one space */
  size_t start[MAX_TOKENS], len[MAX_TOKENS];
  size_t n, used;
} words;

/* Folds U+00C0..U+00FF to ASCII; '\0' marks a separator (x, ÷), '*' two letters. */
static const char LATIN1_FOLD[64] = "aaaaaa*ceeeeiiiidnooooo\0ouuuuyt*aaaaaa*ceeeeiiiidnooooo\0ouuuuyty";

static bool put(words *w, char c, bool *in_word) {
  if (!*in_word) {
    if (w->n == MAX_TOKENS) return false;
    if (w->used) w->norm[w->used++] = ' ';
    w->start[w->n] = w->used;
    w->len[w->n++] = 0;
    *in_word = true;
  }
  if (w->used + 2 >= MAX_NORM) return false;
  w->norm[w->used++] = c;
  w->len[w->n - 1]++;
  return true;
}

/* Splits text into folded words. False when the text is too long to be an
 * acknowledgement (they are short) or cannot be read. */
static bool split(const char *text, size_t len, words *w) {
  memset(w, 0, sizeof *w);
  bool in_word = false, in_number = false;
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)text[i];
    char out[3] = {0};
    size_t adv = 1;
    if (c < 0x80) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) out[0] = (char)(c | 0x20);
      else if (c >= '0' && c <= '9') out[0] = '#';
    } else if ((c == 0xC3) && i + 1 < len && ((unsigned char)text[i + 1] & 0xC0) == 0x80) {
      unsigned cp = 0xC0 + (((unsigned char)text[i + 1]) & 0x3F);
      adv = 2;
      char f = LATIN1_FOLD[cp - 0xC0];
      if (f == '*') {
        out[0] = cp == 0xC6 || cp == 0xE6 ? 'a' : 's';
        out[1] = cp == 0xC6 || cp == 0xE6 ? 'e' : 's';
      } else {
        out[0] = f;
      }
    } else if (c == 0xC5 && i + 1 < len && ((unsigned char)text[i + 1] == 0x93 ||
                                            (unsigned char)text[i + 1] == 0x92)) {
      out[0] = 'o'; /* œ Œ */
      out[1] = 'e';
      adv = 2;
    } else if (c == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80) {
      adv = 3; /* U+2000..U+203F: quotes, apostrophes, dashes, spaces: separators */
    } else {
      /* Any other character (other scripts, emoji) is a word character that matches
       * no phrase, so it counts as substance. */
      out[0] = '~';
      adv = 1;
      while (i + adv < len && ((unsigned char)text[i + adv] & 0xC0) == 0x80) adv++;
    }
    i += adv;
    if (!out[0]) {
      in_word = in_number = false;
      continue;
    }
    if (out[0] == '#') {
      /* A run of digits is one "#" word; letters glued to it ("24h") start another. */
      if (in_number) continue;
      in_word = false;
      if (!put(w, '#', &in_word)) return false;
      in_number = true;
      in_word = false;
      continue;
    }
    if (in_number) in_word = false;
    in_number = false;
    for (int k = 0; k < 2 && out[k]; k++)
      if (!put(w, out[k], &in_word)) return false;
  }
  w->norm[w->used] = '\0';
  return true;
}

/* Number of words of the longest phrase starting at word i, and its class. */
static size_t match_at(const words *w, size_t i, pclass *cls) {
  size_t best = 0, best_len = 0;
  const char *s = w->norm + w->start[i];
  size_t rest = w->used - w->start[i];
  for (size_t p = 0; p < sizeof PHRASES / sizeof PHRASES[0]; p++) {
    const char *ph = PHRASES[p].words;
    size_t pl = strlen(ph);
    if (pl > rest || memcmp(s, ph, pl) != 0 || (pl < rest && s[pl] != ' ')) continue;
    if (pl <= best_len) continue;
    size_t nw = 1;
    for (size_t k = 0; k < pl; k++) nw += ph[k] == ' ';
    best = nw;
    best_len = pl;
    *cls = PHRASES[p].cls;
  }
  return best;
}

static bool is_substantive_word(const words *w, size_t i) {
  for (size_t k = 0; k < sizeof SUBSTANTIVE_WORDS / sizeof SUBSTANTIVE_WORDS[0]; k++) {
    const char *s = SUBSTANTIVE_WORDS[k];
    if (strlen(s) == w->len[i] && memcmp(w->norm + w->start[i], s, w->len[i]) == 0)
      return true;
  }
  return memchr(w->norm + w->start[i], '#', w->len[i]) != NULL ||
         memchr(w->norm + w->start[i], '~', w->len[i]) != NULL;
}

bool sla_is_acknowledgement(const char *text, size_t len) {
  if (!text || !len) return false;
  words w;
  if (!split(text, len, &w) || w.n == 0) return false;

  size_t acks = 0, i = 0;
  bool matched_any = false;
  pclass prev = P_FILL;
  while (i < w.n) {
    pclass cls = P_FILL;
    size_t nw = match_at(&w, i, &cls);
    if (nw) {
      if (cls == P_ACK || cls == P_NAME) acks++;
      prev = cls;
      matched_any = true;
      i += nw;
      continue;
    }
    /* A run of words no phrase knows: allowed only as a name or a signature. */
    size_t j = i;
    while (j < w.n && !match_at(&w, j, &cls)) j++;
    size_t run = j - i;
    for (size_t k = i; k < j; k++)
      if (is_substantive_word(&w, k)) return false;
    bool ok = false;
    if (prev == P_GREET && matched_any && run <= MAX_GREET_NAME) ok = true;
    if (prev == P_NAME && run <= MAX_COMPANY_NAME) ok = true;
    if (prev == P_CLOSE && j == w.n && run <= MAX_SIGNATURE) ok = true;
    if (!ok) return false;
    prev = P_FILL;
    i = j;
  }
  return acks > 0;
}
