/* The bot decision. Most automation says what it is: a product word in the
 * scanner's table ("curl", "Slurp", "WhatsApp") or a generic root ("...bot",
 * "crawler", "spider"), a contact URL, site or e-mail address. What says
 * nothing is judged by what it leaves out: browsers name themselves and the
 * system or device they run on, so a user agent that names neither is a
 * script. Library words (Java, python, okhttp) count only when no browser
 * is named, because old phone browsers run on Java ("(Java; U; en-us;
 * nokia201) UCBrowser8.3"). */
#include "analytics/ua_scan.h"

bool ua_bot_decide(const struct ua_scan *sc, bool browser_named, bool os_named, bool *preview)
{
    *preview = sc->preview > 0;
    if (*preview)
        return true;
    if (sc->no_letters)
        return true; /* "", "-", "1.0": nothing a browser would send */
    if (sc->bot > 0 || sc->url || sc->email)
        return true;
    if (browser_named || ua_has(sc, F_BROWSERISH))
        return false;
    /* feature phones, consoles and TVs name a device instead of an OS */
    bool device_named = ua_has(sc, F_MIDP) || ua_has(sc, F_CLDC) || ua_has(sc, F_NOKIA) || ua_has(sc, F_PLAYSTATION) ||
                        ua_has(sc, F_NINTENDO) || ua_has(sc, F_SMARTTV) || ua_has(sc, F_BADA) ||
                        ua_has(sc, F_SERIES) || ua_has(sc, F_SYMBIAN);
    /* "Mozilla/5.0 (compatible; SomeAgent/1.0; Windows NT 6.1)" names an OS
     * but no browser: browsers that say "compatible" are MSIE and friends,
     * which the parser names. */
    return sc->tool > 0 || !(os_named || device_named) || ua_has(sc, F_COMPATIBLE);
}
