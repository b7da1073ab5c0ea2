"""Page furniture: the sentences of an article that are not its prose.

Web articles carry bylines, "Published: ..." lines, photo credits, author bios, newsletter
and social media prompts, copyright lines, related-link and tag lists and editors'
correction notes. Scored like prose they move an article's tone (an author bio praising
its author can be the most promotional sentence of a critical article) and its cues.
:func:`find_furniture` names such sentences, each with a reason code from
:data:`FURNITURE_REASONS`, so that the pipeline can keep them out of the article's
aggregates while still listing them.

The rules aim at precision: each matches a whole sentence (or a sentence's opening) in
a form that ordinary news prose does not take, most are limited to short fragments, and
the author-bio rule only looks at the article's closing sentences. A sentence that
merely talks about a journalist, a date, a photograph or a newsletter is prose.

This module knows nothing of encoders or heads; it reads the sentences
:func:`framing.text.prepare.prepare` made (their normalised ``clean`` text, in which
typographic quotes and dashes are already folded to ASCII).
"""

from __future__ import annotations

import re
from typing import Sequence

from framing.text.prepare import Sentence, looks_like_html, normalise

__all__ = ["FURNITURE_REASONS", "find_furniture"]

#: Every reason code :func:`find_furniture` gives, in the order its rules are tried.
FURNITURE_REASONS: tuple[str, ...] = (
    "byline",             # "By Ann Lee", "Reporting by ...; Editing by ..."
    "dateline",           # a place line standing alone: "NAIROBI, Kenya (AP) -"
    "timestamp",          # "Published: 5 March 2024", a bare date, "4 min read"
    "photo_credit",       # "Photo: Ann Lee/Reuters", "AFP via Getty Images"
    "copyright",          # "(c) 2024 ...", "All rights reserved."
    "newsletter_prompt",  # "Sign up for our newsletter", "Already a subscriber?"
    "social_prompt",      # "Follow us on X", "Share this article", share-button rows
    "related_links",      # "Read more: ...", "Related:", "You may also like"
    "tags",               # "Tags: ...", "Filed under: ..."
    "editor_note",        # "Correction: ...", "This article was amended ..."
    "advertisement",      # "Advertisement", "Story continues below"
    "contact",            # "Contact the author at ann@example.org", "Got a tip?"
    "author_bio",         # closing "Ann Lee is a writer and ..." (+ "She writes ...")
)

_WORDS = re.compile(r"\S+")

# -- names -----------------------------------------------------------------------------
_UP = "A-Z\u00c0-\u00d6\u00d8-\u00de"
# A capitalised word of a name (letters, apostrophes, hyphens; an initial "J." too) or a
# lower-case name particle.
_NAME_WORD = (rf"(?:[{_UP}][\w'\-]*\.?|(?:de|da|del|della|der|den|di|du|van|von|la|le|"
              rf"al|el|bin|ibn|dos|das|ter)(?=\s))")
_NAME = rf"[{_UP}][\w'\-]*\.?(?:\s+{_NAME_WORD}){{0,4}}"
_NAMES = rf"{_NAME}(?:\s*(?:,|&|\band\b)\s*{_NAME})*"
# First words that make "By X" an adverbial phrase, not a byline.
_NOT_NAMES = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "then", "now", "contrast",
    "comparison", "law", "far", "midday", "noon", "midnight", "dawn", "nightfall",
    "evening", "morning", "afternoon", "tonight", "tomorrow", "today", "christmas",
    "easter", "spring", "summer", "autumn", "winter", "the", "this", "that", "these",
    "those", "its", "their", "his", "her", "one", "some", "most", "all", "design",
    "default", "chance", "accident", "hand", "train", "car", "air", "sea", "road",
    "it", "he", "she", "they", "we", "you", "i", "there", "here", "what", "which", "who",
    "such", "each", "every", "no", "any", "another", "other", "then",
}
# First words of a name that make a closing "<Name> is a ..." a source, not the author.
_NOT_AUTHORS = _NOT_NAMES | {
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady",
    "president", "minister", "senator", "judge", "justice", "mayor", "councillor",
    "gen", "col", "capt", "rev", "father", "sister", "king", "queen", "prince", "princess",
}
_ROLE_WORDS = (r"(?:writer|journalist|editor|fellow|professor|author|correspondent|contributor|"
               r"columnist|reporter|commentator|lecturer|researcher|scholar|novelist|essayist|"
               r"blogger|broadcaster|freelancer|poet|photographer|photojournalist)")

# -- byline ----------------------------------------------------------------------------
_BYLINE_TAIL = (rf"(?:\s*(?:,|\||-|\bin\b|\bfor\b|\bat\b)\s*(?:(?:the|our)\s+)?"
                rf"[{_UP}][\w'\-.]*(?:\s+(?:[{_UP}][\w'\-.]*|of|and|for|the|&)){{0,5}})*")
_BYLINE = re.compile(
    rf"^(?i:(?:written\s+|words\s+|story\s+|text\s+|report\s+)?by)\s+(?P<name>{_NAMES})"
    rf"{_BYLINE_TAIL}\s*[.:]?$")
_BYLINE_OUR = re.compile(
    r"^by\s+(?:our|a|an|the)\s+(?:[a-z]+\s+){0,3}(?:correspondents?|reporters?|staff|"
    r"writers?|team|desk|editors?)(?:\s+in\s+[\w .'\-]{1,30})?\s*\.?$", re.IGNORECASE)
_CREDIT_ROLE = (r"(?:additional\s+)?(?:reporting|writing|editing|research|"
                r"fact[- ]checking|compiled|translated|translation|produced|production|"
                r"graphics|video|photos|photography|illustrations?|design|data)"
                r"(?:\s+and\s+[a-z]+)?\s+by")
_CREDIT_LINE = re.compile(
    rf"^\(?(?i:{_CREDIT_ROLE})\s+{_NAMES}(?:\s+in\s+{_NAME})?"
    rf"(?:\s*[;,.]\s*(?i:{_CREDIT_ROLE})\s+{_NAMES}(?:\s+in\s+{_NAME})?)*\s*[;,]?\s*\)?\s*\.?$")
_CONTRIBUTED = re.compile(
    rf"^{_NAMES}\s+(?:also\s+)?contributed(?:\s+(?:reporting|research|to\s+this\s+(?:report|story|article)))+"
    r"(?:\s+from\s+[\w ,.'\-]{1,40})?\s*\.?$")
_NAME_ROLE_LINE = re.compile(
    rf"^{_NAME}\s*[,|]\s*(?:[A-Za-z]+\s+){{0,3}}(?i:(?:writer|reporter|correspondent|editor|"
    rf"columnist|journalist|contributor)s?)\s*\.?$")

# -- dateline --------------------------------------------------------------------------
_DATELINE = re.compile(
    rf"^[{_UP}][{_UP}.'\-]{{2,}}(?:\s[{_UP}.'\-]+){{0,4}}(?:,\s*[{_UP}][\w .'\-]{{1,30}})?"
    r"(?:\s*\((?:AP|AFP|Reuters|UPI|dpa|AAP|CNN|Xinhua|Bloomberg|[A-Z][\w ]{1,20})\))?"
    r"\s*(?:-\s*)?$")

# -- timestamps ------------------------------------------------------------------------
_MONTHS = ("jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|"
           "sep|sept|september|oct|october|nov|november|dec|december")
_DAYS = ("mon|monday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday|"
         "sat|saturday|sun|sunday")
_DATE_TOKEN = re.compile(
    rf"^(?:{_MONTHS}|{_DAYS}|\d{{4}}-\d\d-\d\d(?:t[\d:.]+(?:z|[+\-][\d:]+)?)?|\d{{1,4}}(?:st|nd|rd|th)?|\d{{1,4}}[:./\-]\d{{1,2}}(?:[:./\-]\d{{1,4}})?"
    r"(?:[ap]\.?m\.?)?|\d{1,2}[ap]\.?m\.?|am|pm|a\.m|p\.m|gmt|utc|bst|cet|cest|est|edt|pst|pdt|"
    r"cst|cdt|et|pt|ist|jst|sast|eat|wat|hkt|sgt|aest|aedt|at|on|of|the|ago|hours?|hrs?|minutes?|"
    r"mins?|days?|weeks?|today|yesterday|just|now|[|,\-\u00b7\u2022])$", re.IGNORECASE)
_HAS_DATE = re.compile(rf"\b(?:{_MONTHS})\b|\d{{4}}|\d{{1,2}}[./\-]\d{{1,2}}|\d:\d\d|\bago\b|"
                       r"\btoday\b|\byesterday\b", re.IGNORECASE)
_STAMP_PREFIX = re.compile(
    r"^(?:(?:first|last|originally|date)\s+)?(?:published|updated|posted|modified|created|"
    r"uploaded|issued|released|date)(?:\s+(?:on|at))?\s*[:|\-]?\s*", re.IGNORECASE)
_READING_TIME = re.compile(
    r"^(?:(?:estimated\s+)?(?:reading|read|listening)\s+time\s*[:\-]?\s*)?(?:about\s+)?\d+"
    r"\s*(?:-\s*)?(?:min|mins|minutes?)(?:\s+(?:read|listen))?\s*\.?$", re.IGNORECASE)

# -- photo credits ---------------------------------------------------------------------
_AGENCIES = (r"(?:Getty(?:\s+Images)?|AFP|AP|EPA(?:-EFE)?|EFE|Reuters|Shutterstock|Alamy|"
             r"Bloomberg|PA(?:\s+(?:Images|Wire|Media))?|iStock(?:photo)?|Xinhua|Anadolu"
             r"(?:\s+Agency)?|NurPhoto|SOPA\s+Images|Corbis|Pool|Handout|Supplied|"
             r"Associated\s+Press|Agence\s+France-Presse|Unsplash|Wikimedia(?:\s+Commons)?|"
             r"Rex(?:\s+Features)?|Zuma(?:\s+Press)?|Sipa(?:\s+Press)?|dpa|ANP|Kyodo|Yonhap)")
_PHOTO_LABEL = re.compile(
    r"^[(\[]?(?:photo|photos|photograph|photography|image|images|picture|pictures|pic|"
    r"illustration|graphic|video|footage|credits?|photo\s+credit|image\s+credit|"
    r"main\s+image|top\s+image|header\s+image|cover\s+image|lead\s+image|file\s+photo|"
    r"photo\s+illustration)(?:\s+by)?\s*[:|/]", re.IGNORECASE)
_CREDIT_UNIT = rf"(?:{_AGENCIES}(?:\s+(?:Photo|Images?|Pictures?))?|{_NAME})"
_PHOTO_CREDIT = re.compile(
    rf"^[(\[]?\s*(?:(?i:photo|image|picture)s?\s*(?:by\s*)?[:|]?\s*)?{_CREDIT_UNIT}"
    rf"(?:\s*(?:/|\bvia\b|\bfor\b|\|)\s*{_CREDIT_UNIT})*\s*[)\]]?\s*\.?$")
# a credit fragment must name an agency or say what it is: "Ann Lee/Staff", "File Photo"
_HAS_AGENCY = re.compile(rf"\b(?:{_AGENCIES}|Staff|File|Photo|Courtesy)\b")
_PHOTO_BY = re.compile(
    rf"^[(\[]?(?i:photo|photograph|image|picture|illustration|video|footage)s?\s+(?i:by)\s+"
    rf"{_CREDIT_UNIT}(?:\s*(?:/|\bvia\b|\bfor\b|\|)\s*{_CREDIT_UNIT})*\s*[)\]]?\s*\.?$")

# -- copyright -------------------------------------------------------------------------
_COPYRIGHT = re.compile(
    r"\u00a9|\((?i:c)\)\s*(?:19|20)\d\d|(?i:\bcopyright)\s*(?:\u00a9\s*|\((?i:c)\)\s*)?"
    r"(?:19|20)\d\d|(?i:\ball rights reserved\b)|"
    r"(?i:\bmay not be (?:re)?(?:published|broadcast|rewritten|redistributed|reproduced)\b)")
# "Copyright The Coastal Ledger", but not "Copyright Office officials said ..."
_COPYRIGHT_HOLDER = re.compile(
    r"^(?i:copyright)\s+(?!(?:Office|Act|Board|Law|Directive|Tribunal|Agency|Royalty|Claims)\b)"
    r"(?:the\s+)?[A-Z]")

# -- prompts ---------------------------------------------------------------------------
_NEWSLETTER = [re.compile(p, re.IGNORECASE) for p in (
    r"^(?:sign\s*up|subscribe)\b(?!\s+(?:rates?|numbers?|figures?)\b)",
    r"\b(?:sign up|subscribe|register)\s+(?:now|today|here|for free|free|to our|for our|"
    r"with your e-?mail)\b",
    r"\b(?:delivered|sent|straight|direct)\s+to\s+your\s+inbox\b",
    r"\b(?:newsletters?|briefings?|digest|bulletin|news|stories|headlines|updates)\b[^.]{0,60}"
    r"\b(?:to|in|into)\s+your\s+inbox\b",
    r"^(?:already\s+(?:a|have\s+an?)\s+(?:subscriber|member|account)|"
    r"(?:log|sign)\s+in\s+to\s+(?:continue|read|comment|keep reading))\b",
    r"^(?:log|sign)\s*(?:in|on)(?:\s+(?:here|now))?\s*[.!]?$",
    r"^(?:become|be)\s+an?\s+(?:member|subscriber|supporter|patron)\b",
    r"^support\s+(?:our|independent|quality|this|local)\s+(?:\w+\s+)?(?:journalism|"
    r"reporting|work|newsroom)\b",
    r"^(?:start|try|begin)\s+(?:your\s+)?(?:free\s+)?(?:trial|subscription)\b",
    r"^(?:don't|do not|never)\s+miss\s+(?:a|an|another|out on)\s+(?:\w+\s+){0,2}"
    r"(?:story|stories|update|updates|newsletter|issue|episode|thing|beat|headline)s?\b",
    r"^(?:get|receive|want)\s+(?:our|the latest|the best|more|breaking|exclusive|unlimited|"
    r"all the|a daily|a weekly|free)\b[^.]{0,60}\b(?:newsletters?|inbox|email|updates|alerts|"
    r"stories|access|headlines)\b",
    r"^(?:enter|type|add)\s+your\s+e-?mail\b",
    r"^(?:this|the)\s+(?:article|story)\s+(?:is|was)\s+(?:from|first\s+(?:published|sent))"
    r"\s+(?:in\s+)?(?:our|the)\s+[\w\s]{0,30}newsletter\b",
)]
_NETWORKS = (r"(?:twitter|x|facebook|instagram|linkedin|tiktok|threads|bluesky|mastodon|"
             r"youtube|telegram|whatsapp|pinterest|reddit|snapchat|flipboard|google news|"
             r"apple news|rss|weibo|wechat)")
_SHARE_WORDS = (r"(?:tweet|email|e-mail|print|share|save|facebook|twitter|x|whatsapp|linkedin|"
                r"pinterest|reddit|messenger|telegram|copy\s+link|copy|link|comments?|\d+)")
_SOCIAL = [re.compile(p, re.IGNORECASE) for p in (
    rf"^(?:you\s+can\s+)?(?:follow|like\s+us|find|join|connect\s+with|subscribe\s+to|watch)"
    rf"\s+[\w@.' \-]{{0,40}}?\s*(?:on|at|via)\s+{_NETWORKS}\b",
    r"^(?:please\s+)?follow\s+(?:us|me)\b",
    r"^[^\"]*\bfollow\s+us\b[^\"]*$",
    r"^follow\s+(?:him|her|them|[\w.' \-]{1,40}?)\s+(?:at|on)?\s*@\w{2,}",
    r"^share\s+(?:this|the|on|via|to|with|your)\b",
    r"^share\s*[:.]?$",
    r"^read\s+or\s+share\s+this\s+(?:story|article)\b",
    r"^(?:click|tap)\s+(?:here\s+)?to\s+share\b",
    r"^(?:copy|copied)\s+(?:the\s+)?link\b",
    rf"^{_SHARE_WORDS}(?:[\s|,/\u00b7\u2022]+{_SHARE_WORDS})+\s*$",
    r"^join\s+the\s+(?:conversation|discussion)\b",
    r"^(?:leave|post|add|show|view|read|see)\s+(?:a\s+|the\s+|all\s+|\d+\s+)?comments?"
    r"(?:\s+(?:below|here))?\s*[.:]?$",
    r"^comments?\s*(?:\(\d+\))?\s*[:.]?$",
)]
_RELATED = [re.compile(p, re.IGNORECASE) for p in (
    r"^(?:read more|read also|also read|read next|read the full (?:story|article)|"
    r"more on this(?: story| topic)?|more from [\w' ]{1,40}|see also|related(?: articles?| "
    r"stories| coverage| content| topics| reading| links| news)?|recommended(?: for you| "
    r"reading| stories| articles)?|you (?:may|might) (?:also )?(?:like|enjoy|be interested in|"
    r"have missed)|further reading|most (?:read|popular|viewed|shared|commented)|trending"
    r"(?: now| stories)?|top stories|editor'?s picks|more stories|more news|latest news|"
    r"more coverage)\s*(?:[:|>\u00bb\u203a]|-\s)",
    r"^(?:read more|read also|also read|read next|related|see also|more on this story|"
    r"most read|most popular|recommended(?: for you)?|trending(?: now)?|you (?:may|might) "
    r"also like|further reading|related (?:stories|articles|coverage|content|topics)|"
    r"more stories|top stories)\s*[.:>\u00bb]?$",
    r"^(?:click|tap)\s+here\b",
)]
# an embedded post ends "- Ann Lee (@annlee) April 15, 2020": a quoted source, not a link
_TWEET_BYLINE = re.compile(r"\(@\w+\)")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+\.[a-z]{2,}\b", re.IGNORECASE)
_WATCH = re.compile(r"^(?:watch|listen|video|audio|podcast|gallery|in pictures)\s*:",
                    re.IGNORECASE)
_TAGS = re.compile(
    r"^(?:tags?|tagged(?: with)?|topics?|filed under|categor(?:y|ies)|keywords?|more about|"
    r"explore more on (?:these|this) topics?|related topics|subjects?|sections?)\s*(?:[:|]|$)",
    re.IGNORECASE)
_EDITOR_NOTE = [re.compile(p, re.IGNORECASE) for p in (
    r"^(?:editor'?s'?\s+note|editors'?\s+note|note to (?:readers|our readers)|correction|"
    r"corrections?\s+(?:and|&)\s+clarifications?|clarification|disclosure|disclaimer)\s*(?:\(\w[\w ,]{0,30}\)\s*)?:",
    r"^this\s+(?:article|story|piece|post|column|headline)\s+(?:was|has\s+been|"
    r"had\s+been|is\s+being)\s+(?:updated|amended|corrected|changed|edited|revised|clarified)\b",
    r"^an?\s+(?:earlier|previous|prior)\s+version\s+of\s+this\s+(?:article|story|piece|post|"
    r"column|headline|report)\b",
    r"\bwe\s+regret\s+(?:the|this)\s+error\b",
    r"^the\s+(?:views|opinions)\s+expressed\s+(?:here|in\s+this\s+(?:article|column|"
    r"commentary|piece|essay|op-ed))?\s*are\s+(?:solely\s+)?(?:(?:his|her|their|the\s+"
    r"author'?s'?|the\s+writer'?s)\s+own|(?:those\s+)?of\s+the\s+(?:author|writer)s?)\b",
)]
_ADVERT = re.compile(
    r"^(?:advertisement|advert|ad|sponsored(?:\s+content)?|promoted(?:\s+content)?|paid\s+"
    r"(?:content|partner(?:ship)?|post)|story\s+continues\s+below(?:\s+(?:this\s+)?"
    r"advertisement)?|article\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?advertisement)?|"
    r"continue\s+reading(?:\s+(?:the\s+main\s+story|below|this\s+article))?|skip\s+advert"
    r"(?:isement)?|scroll\s+to\s+continue(?:\s+with\s+content)?)\s*[.:]?$", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_CONTACT = re.compile(
    r"^(?:got|have)\s+a\s+(?:news\s+)?(?:tip|story)\b|^(?:contact|email|e-mail|write\s+to|"
    r"reach|send)\b", re.IGNORECASE)

# -- author bio ------------------------------------------------------------------------
_BIO_OPEN = r"^(?:[(\[*_\-\u2022\u00b7]\s*)?"
_BIO_VERB = r"(?:is|was|has\s+been|serves\s+as)\s+(?:also\s+)?(?:a|an|the)\b"
_BIO_NAMED = re.compile(
    rf"{_BIO_OPEN}(?P<name>{_NAME})\s*(?:\([^)]{{1,40}}\)\s*|,\s+(?:a|an|the|who)\s[^,;\"]{{1,120}},\s*)?"
    rf"\s{_BIO_VERB}[^;]{{0,160}}?\b(?i:{_ROLE_WORDS})s?\b")
_BIO_PRONOUN_ROLE = re.compile(rf"^(?:He|She)\s+{_BIO_VERB}[^;]{{0,160}}?\b(?i:{_ROLE_WORDS})s?\b")
_NAME_LINE = re.compile(rf"^[{_UP}][\w'\-]*\.?(?:\s+{_NAME_WORD}){{1,3}}$")
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md"}
#: how many of the article's last prose sentences the named author-bio rule looks at
_BIO_ZONE = 5
_BIO_NAMED_WRITES = re.compile(
    rf"{_BIO_OPEN}(?P<name>{_NAME})\s+(?:writes|has\s+written|covers|has\s+covered|"
    rf"reports)\s+(?:about|on|for|from|extensively)\b")
_BIO_AUTHOR = re.compile(
    r"^(?:[(\[*_\-]\s*)?(?:about\s+the\s+(?:author|writer)s?\b|the\s+(?:author|writer|"
    r"columnist|reviewer)s?\s+(?:is|are|was|has|writes|teaches|lives|works)\b|"
    r"(?:this|the)\s+(?:article|piece|column|essay|op-ed)\s+was\s+written\s+by\b)",
    re.IGNORECASE)
_BIO_PRONOUN = re.compile(
    r"^(?:(?:she|he|they)\s+(?:writes|has\s+written|covers|has\s+covered|is\s+the\s+author|"
    r"is\s+also|is\s+currently|is\s+based|lives|teaches|taught|has\s+reported|reports|"
    r"previously|tweets|posts|can\s+be\s+(?:reached|followed|found)|holds|was\s+previously|"
    r"is\s+working|is\s+an?|has\s+worked|worked|has\s+been|was\s+an?|received|won|has\s+won|"
    r"earned|studied|graduated)|(?:her|his|their)\s+(?:latest|new|most\s+recent|"
    r"forthcoming|first|debut|work|writing|reporting|books?|essays?|columns?|articles?|"
    r"journalism|podcast)\b)", re.IGNORECASE)
# A line break the segmenter ran over: a line that does not end a sentence, then one that
# starts like a new one ("SIGN UP FOR OUR NEWSLETTER\nThe council ...").
_MERGED_LINES = re.compile(r"[^\s.!?:;,|\-]\s*\n\s*[\"'(\[\u201c\u2018\u00ab]?[A-Z0-9]")
# quotation marks alone do not make reported speech here: bios quote book titles
_REPORTED_SPEECH = re.compile(r"\b(?:said|says|told|according to|asked|added)\b|^\"")


def _words(text: str) -> int:
    return len(_WORDS.findall(text))


def _first_name_ok(name: str) -> bool:
    return name.split()[0].rstrip(".,").lower() not in _NOT_NAMES


def _is_date_line(text: str) -> bool:
    """Whether ``text`` is a date or time and nothing else ("5 March 2024, 10:15 GMT")."""
    tokens = re.findall(r"[|,\u00b7\u2022]|[^\s|,\u00b7\u2022]+", text.rstrip("."))
    return bool(tokens) and _HAS_DATE.search(text) is not None and \
        all(_DATE_TOKEN.match(t.strip("()[].")) or not t.strip("()[].") for t in tokens)


def _timestamp(text: str) -> bool:
    m = _STAMP_PREFIX.match(text)
    if m and m.end() < len(text):
        rest = text[m.end():]
        # "Published: 5 March 2024 | Updated: 6 March 2024": every part a stamp
        parts = re.split(r"\s*[|\u00b7\u2022]\s*", rest)
        if all(_is_date_line(_STAMP_PREFIX.sub("", p, count=1)) for p in parts if p):
            return True
    return _is_date_line(text) or _READING_TIME.match(text) is not None


def _byline(text: str, n_words: int) -> bool:
    if n_words > 16:
        return False
    m = _BYLINE.match(text)
    if m and _first_name_ok(m.group("name")):
        return True
    if _BYLINE_OUR.match(text) or _CREDIT_LINE.match(text) or _CONTRIBUTED.match(text):
        return True
    return n_words <= 8 and _NAME_ROLE_LINE.match(text) is not None


def _photo_credit(text: str, n_words: int) -> bool:
    if n_words > 25:
        return False
    if _PHOTO_LABEL.match(text) or n_words <= 12 and _PHOTO_BY.match(text):
        return True
    return n_words <= 10 and _PHOTO_CREDIT.match(text) is not None and \
        _HAS_AGENCY.search(text) is not None


def _reason(text: str, index: int, n_words: int) -> str | None:
    """The reason code of the context-free rules for one sentence (None: prose)."""
    if _byline(text, n_words):
        return "byline"
    if n_words <= 10 and text.endswith(("-", ")")) and _DATELINE.match(text):
        return "dateline"
    if n_words <= 24 and _timestamp(text):
        return "timestamp"
    if _photo_credit(text, n_words):
        return "photo_credit"
    if n_words <= 40 and _COPYRIGHT.search(text) or \
            n_words <= 8 and _COPYRIGHT_HOLDER.match(text):
        return "copyright"
    if n_words <= 30 and any(p.search(text) for p in _NEWSLETTER):
        return "newsletter_prompt"
    if n_words <= 30 and any(p.search(text) for p in _SOCIAL):
        return "social_prompt"
    if _related_links(text, index, n_words):
        return "related_links"
    if n_words <= 60 and _TAGS.match(text):
        return "tags"
    if n_words <= 80 and any(p.search(text) for p in _EDITOR_NOTE):
        return "editor_note"
    if n_words <= 8 and _ADVERT.match(text):
        return "advertisement"
    if _contact(text, n_words):
        return "contact"
    return None


def _related_links(text: str, index: int, n_words: int) -> bool:
    if n_words <= 25 and any(p.search(text) for p in _RELATED):
        return True
    if n_words <= 25 and index > 0 and _WATCH.match(text):  # index 0 may be a headline
        return True
    # a bare web address (at most two words beside it) is a link line; a short sentence
    # that carries a link is a post's or a caption's content (official accounts' posts
    # are such sentences), so it stays prose
    if _URL.search(text) is None or _TWEET_BYLINE.search(text) is not None:
        return False
    rest = _URL.sub(" ", text).split()
    return len(rest) <= 2


def _contact(text: str, n_words: int) -> bool:
    if n_words > 25:
        return False
    if _CONTACT.match(text) and (_EMAIL.search(text) or text.lower().startswith(("got", "have"))):
        return True
    return n_words <= 3 and _EMAIL.fullmatch(text.strip(" .()<>")) is not None


def _paragraph_starts(sentences: Sequence[Sentence], clean: str | None) -> list[bool]:
    """Whether each sentence opens a paragraph of ``clean`` (text start or after a blank
    line); with no clean text only the first sentence does."""
    out = []
    for j, s in enumerate(sentences):
        if j == 0:
            out.append(True)
        elif clean is None or s.part > 0:
            out.append(False)
        else:
            out.append("\n\n" in clean[sentences[j - 1].clean_end:s.clean_start])
    return out


def find_furniture(sentences: Sequence[Sentence], clean: str | None = None) -> list[str | None]:
    """Name the sentences of one article that are page furniture, not prose.

    ``sentences`` are one article's prepared sentences, in order (:attr:`PreparedText
    .sentences`); ``clean`` is its cleaned text (:attr:`PreparedText.clean`), from which
    paragraph breaks are read (optional: without it the author-bio rule sees the article as
    one paragraph). Returns one entry per sentence: a reason code from
    :data:`FURNITURE_REASONS`, or None for prose.

    Rules, each written to leave ordinary news prose alone:

    - ``byline``: the whole sentence is "By <Name>[ and <Name>]" (optionally ", <Role>",
      "in <Place>", "| <Outlet>"), "By our correspondent", a credit line such as
      "Reporting by <Name>; Editing by <Name>", "<Name> contributed to this report", or a
      short "<Name>, Staff Writer"; a name standing alone among the first three
      sentences too, once a closing bio names the same person.
    - ``dateline``: a short place line standing alone: "NAIROBI, Kenya (AP) -".
    - ``timestamp``: "Published|Updated|Posted ...: <date or time>", a date or time alone,
      "4 min read".
    - ``photo_credit``: "Photo|Image|Picture|Illustration ...: ..." (at most 25 words), or
      a short credit fragment naming an agency or with a slash ("Ann Lee/Getty Images",
      "AFP via Getty Images", "(AP Photo/Ann Lee)").
    - ``copyright``: a copyright sign or "Copyright <year>", "All rights reserved", "may
      not be published, broadcast, rewritten or redistributed".
    - ``newsletter_prompt``: an imperative "Sign up" / "Subscribe" opening, "... your
      inbox", "Already a subscriber?", "Support our journalism", "Become a member", ...
    - ``social_prompt``: "Follow us", "Follow <Name> on <network>", "Share this article",
      rows of share buttons ("Facebook Twitter Email"), "Join the conversation",
      "Leave a comment".
    - ``related_links``: "Read more:", "Related:", "See also:", "You may also like",
      "Most read", "Click here ..." (at most 25 words), "Watch:" / "Listen:" after the
      first sentence, and a web address with at most two words beside it (a short
      sentence that carries a link, as posts do, stays prose).
    - ``tags``: "Tags:", "Topics:", "Filed under:", "Categories:".
    - ``editor_note``: "Editor's note:", "Correction:", "Clarification:", "Update:",
      "This article has been amended ...", "An earlier version of this story ...",
      "We regret the error".
    - ``advertisement``: "Advertisement", "Sponsored", "Story continues below", "Continue
      reading" standing alone.
    - ``contact``: "Contact|Email|Write to ..." with an e-mail address, "Got a tip?".
    - ``author_bio``: among the article's closing sentences (the last three that no other
      rule flagged, and what follows them): a sentence opening a paragraph (or anywhere
      when it names the byline's author) of the form "<Name> is a/an/the ... writer |
      journalist | editor | fellow | professor | author | correspondent | contributor |
      columnist | ...", "<Name> writes about|covers ...", "The author is ...", "About the
      author"; then the sentences right after one such that go on about the same person
      ("She writes ...", "Her latest book ..."). A named person the article's prose has
      already mentioned is a source, not the author (unless the byline names them); a
      name opening with a title ("Dr", "Mr", "Minister") is too; reported speech
      ("said", quotation marks) is never a bio. In a text with no paragraph breaks the
      named forms count only in the last two sentences.

    Pieces of a sentence split for the model window (``part > 0``) are never furniture. A
    sentence that runs over a line break the segmenter did not split (a prompt on one
    line, prose on the next, with no full stop between) is furniture only when each of its
    lines is, and never an author bio.
    """
    sizes = [_words(s.clean) for s in sentences]
    merged = [_MERGED_LINES.search(s.text) is not None for s in sentences]
    reasons = [None if s.part > 0 else
               _merged_reason(s.text, j) if merged[j] else _reason(s.clean.strip(), j, sizes[j])
               for j, s in enumerate(sentences)]
    _author_bios(sentences, clean, reasons, sizes, merged)
    return reasons


def _merged_reason(text: str, index: int) -> str | None:
    """The reason for a sentence that runs over lines the segmenter did not split ("SIGN
    UP FOR OUR NEWSLETTER" on one line, prose on the next): every line must be furniture
    on its own, else the sentence is prose (a mixed sentence holds prose to score)."""
    reasons = []
    for line in text.splitlines():
        if line.strip():
            clean = normalise(line, html=looks_like_html(line))[0].strip()
            if clean:
                reasons.append(_reason(clean, index, _words(clean)))
    return reasons[0] if reasons and all(reasons) else None


def _surname(name: str) -> str:
    words = [w.rstrip(".,") for w in name.split()]
    while len(words) > 1 and words[-1].lower() in _NAME_SUFFIXES:
        words.pop()
    return re.sub(r"'s$", "", words[-1])


def _author_bios(sentences: Sequence[Sentence], clean: str | None,
                 reasons: list[str | None], sizes: list[int], merged: list[bool]) -> None:
    """Flag the closing author bio in place (see :func:`find_furniture`)."""
    n = len(sentences)
    if n < 2:  # a one-sentence text is what it is
        return
    authors = set()
    for s, r in zip(sentences, reasons):
        m = _BYLINE.match(s.clean.strip()) if r == "byline" else None
        if m:
            authors.update(_surname(name) for name in
                           re.split(r"\s*(?:,|&|\band\b)\s*", m.group("name")) if name)
    prose = [j for j in range(n) if reasons[j] is None]
    if len(prose) < 2:
        return
    starts = _paragraph_starts(sentences, clean)
    # a name standing alone near the top ("Ann Lee") is a byline when the bio names her
    name_lines = {}
    for j in range(min(3, n)):
        text = sentences[j].clean.strip().rstrip(".")
        if reasons[j] is None and _NAME_LINE.match(text) and _first_name_ok(text) and \
                (j + 1 >= n or starts[j + 1]):
            name_lines[_surname(text)] = j
    # the closing zone: the last few sentences no rule flagged, and all after them; never
    # the first sentence
    zone_start = max(prose[-min(_BIO_ZONE, len(prose))], 1)
    one_paragraph = not any(starts[1:])

    def usable(j: int) -> bool:
        return sentences[j].part == 0 and sizes[j] <= 80 and not merged[j] and \
            not _REPORTED_SPEECH.search(sentences[j].clean)

    prev_bio = False
    for j in range(zone_start, n):
        if reasons[j] is not None:  # other furniture between bio sentences keeps the chain
            continue
        text = sentences[j].clean.strip()
        bio = False
        m = (_BIO_NAMED.match(text) or _BIO_NAMED_WRITES.match(text)) if usable(j) else None
        if m and m.group("name").split()[0].rstrip(".,").lower() not in _NOT_AUTHORS:
            surname = _surname(m.group("name"))
            if surname in authors:
                bio = True
            elif surname in name_lines:
                bio = True
                reasons[name_lines.pop(surname)] = "byline"
            elif starts[j] or (one_paragraph and j >= n - 2):
                # someone the article has already talked about is a source, not its author
                seen = re.compile(rf"(?<!\w){re.escape(surname)}(?!\w)")
                bio = not any(seen.search(sentences[k].clean) for k in range(j)
                              if reasons[k] is None and k not in name_lines.values())
        elif usable(j) and _BIO_AUTHOR.match(text):
            bio = True
        elif prev_bio and usable(j) and _BIO_PRONOUN.match(text):
            bio = True
        if bio:
            reasons[j] = "author_bio"
        prev_bio = bio
    # a closing paragraph about "he" or "she" alone: "He is a senior fellow at ... ."
    last = [j for j in prose if j >= zone_start and reasons[j] is None]
    while last and not starts[last[0]]:
        last.pop(0)
    if last and not any(starts[j] for j in last[1:]) and all(usable(j) for j in last) and \
            _BIO_PRONOUN_ROLE.match(sentences[last[0]].clean) and \
            all(_BIO_PRONOUN.match(sentences[j].clean) for j in last[1:]):
        for j in last:
            reasons[j] = "author_bio"
