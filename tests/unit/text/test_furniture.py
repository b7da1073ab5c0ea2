"""Page furniture detection (framing.text.furniture): bylines, stamps, credits, prompts,
author bios ... flagged; ordinary news prose that mentions such things left alone.

Every sentence here was written for these tests."""

from __future__ import annotations

import re

import pytest

from framing.text.furniture import FURNITURE_REASONS, find_furniture
from framing.text.prepare import prepare

INTRO = ("The regional council met on Tuesday to discuss the budget.\n\n"
         "Members argued for three hours about road repairs and school funding.\n\n")
OUTRO = ("\n\nA final vote is expected next month.\n\n"
         "The council will publish its minutes on Friday.")


def _flags(text: str) -> list[tuple[str, str | None]]:
    p = prepare(text, html=False)
    return list(zip([s.clean for s in p.sentences], find_furniture(p.sentences, p.clean)))


def _in_the_middle(line: str) -> list[tuple[str, str | None]]:
    """The flags of ``line``'s sentences, set as a paragraph inside an ordinary article;
    the surrounding prose must stay unflagged."""
    out = _flags(INTRO + line + OUTRO)
    assert [r for _, r in out[:2] + out[-2:]] == [None] * 4, out
    return out[2:-2]


FURNITURE = {
    "byline": [
        "By Petra Ilsen",
        "By Petra Ilsen and Tom Hale in Valmora",
        "By Petra Ilsen, Political Correspondent",
        "BY MARTA KOWALCZYK",
        "By our correspondent in Lagos",
        "Reporting by Ana Ruiz in Lima; Editing by Karl Berg",
        "Additional reporting by Sam Okoro",
        "Written by J. R. Mensah",
        "Ines Vohra, Staff Writer",
    ],
    "dateline": ["NAIROBI, Kenya (AP) -", "PORT ELLIS -"],
    "timestamp": [
        "Published: 5 March 2024",
        "Updated: 6 March 2024, 10:15 GMT",
        "Posted on 12.03.2024 at 08:30",
        "Last updated 3 hours ago",
        "Published 5 March 2024 | Updated 6 March 2024",
        "March 5, 2024",
        "2024-03-05T10:15:00Z",
        "4 min read",
    ],
    "photo_credit": [
        "Photo: Jon Marrow/Coastal Ledger",
        "Image: Reuters",
        "Photograph by Lena Park for The Ledger",
        "(AP Photo/Jane Doe)",
        "AFP via Getty Images",
        "Lena Park/Getty Images",
        "Illustration: Studio Nine",
    ],
    "copyright": [
        "\u00a9 2024 The Coastal Ledger. All rights reserved.",
        "Copyright 2024 Harbour Media Group",
        "This material may not be published, broadcast, rewritten or redistributed.",
    ],
    "newsletter_prompt": [
        "Sign up for our morning newsletter.",
        "Subscribe now to get unlimited access.",
        "Get the best stories delivered to your inbox every morning.",
        "Already a subscriber? Log in.",
        "Support our independent journalism today.",
        "Become a member and read without limits.",
        "Never miss a story again.",
        "Enter your email address to receive updates.",
    ],
    "social_prompt": [
        "Follow us on Instagram and Facebook.",
        "Follow Petra Ilsen on X.",
        "You can follow her on Twitter at @pilsen.",
        "Share this article",
        "Share on Facebook",
        "Facebook Twitter Email WhatsApp",
        "Join the conversation.",
        "Leave a comment",
    ],
    "related_links": [
        "Read more: Fishing quotas cut again",
        "READ MORE: New ferry route announced for summer",
        "Related: The harbour debate explained",
        "You may also like",
        "Most read",
        "Click here to read the full report.",
    ],
    "tags": ["Tags: harbour, council, fishing", "Filed under: Politics",
             "Topics: Local government"],
    "editor_note": [
        "Editor's note: An earlier version misnamed the councillor.",
        "Correction: The vote took place on Monday, not Tuesday.",
        "This article has been amended to correct the date of the vote.",
        "An earlier version of this story gave the wrong figure for the budget.",
    ],
    "advertisement": ["Advertisement", "Story continues below advertisement"],
    "contact": ["Contact the author at petra@example.org", "Got a tip? Email news@example.org"],
}

CASES = [(reason, line) for reason, lines in FURNITURE.items() for line in lines]


@pytest.mark.parametrize("reason, line", CASES, ids=[f"{r}:{ln[:30]}" for r, ln in CASES])
def test_furniture_is_flagged_with_its_reason(reason, line):
    flagged = _in_the_middle(line)
    assert flagged and all(r is not None for _, r in flagged), flagged
    assert flagged[0][1] == reason, flagged


def test_every_reason_is_declared():
    assert set(FURNITURE) | {"author_bio"} == set(FURNITURE_REASONS)


PROSE = [
    # bylines' look-alikes
    "By Tuesday the floods had receded and families returned home.",
    "By contrast, the opposition wants lower taxes.",
    "By the end of the year, the port had hired 300 workers.",
    "By 2030, the government hopes to double exports.",
    "By Mr Lee's account, the plan failed twice.",
    # journalists as the subject of news
    "The journalist Petra Ilsen was detained at the border for six hours.",
    "Reporters were kept outside the building during the vote.",
    "The editor of the local paper resigned after the scandal.",
    # dates and times in sentences
    "Published in 1998, the report warned of rising sea levels.",
    "The report was published on 5 March 2024 after months of delay.",
    "Updated figures show unemployment fell to 4 percent.",
    "Posted guards stood at the entrance all night.",
    "On 5 March, the council voted to close the library.",
    "May we go home now?",
    # photos and agencies
    "The photo, taken in May, shows police beating a protester.",
    "Photos of the flooded streets spread quickly on social media.",
    "Reuters reported that the minister had resigned.",
    "Getty Images declined to comment on the lawsuit.",
    "The agency sold the picture to several newspapers.",
    "Video footage showed officers pushing a woman to the ground.",
    "Images from the satellite show the damage.",
    "The photographer Lena Park won the prize in 2021.",
    # copyright as a topic
    "The copyright dispute between the two studios dragged on for years.",
    "Copyright law was changed in 2019 to protect artists.",
    "Copyright Office officials declined to comment.",
    # newsletters and subscriptions as a topic
    "Thousands of readers subscribe to the paper's weekly newsletter.",
    "The newsletter, which reaches 40,000 people, criticised the mayor.",
    "Customers were urged to sign up for the new tariff before March.",
    "Residents can register to vote at the town hall until Friday.",
    "Scam messages often land in your inbox disguised as bank alerts.",
    "Subscribers complained that the price had doubled.",
    # social media as a topic
    "The minister has 2 million followers on Twitter.",
    "She urged supporters to follow the party line.",
    "Follow-up talks are planned for next week.",
    "Share prices fell 3 percent on Monday.",
    "Shareholders will vote on the merger in June.",
    "Like many towns on the coast, Valmora depends on tourism.",
    "Critics shared the video widely on Facebook.",
    "Comments made by the minister caused outrage.",
    "\"Follow me,\" the officer told the crowd.",
    # links, tags, notes, ads as words
    "Read the small print before signing, consumer groups advise.",
    "Officials said more talks were related to the trade dispute.",
    "Tags on the cattle helped inspectors trace the disease.",
    "The topics discussed included housing and transport.",
    "The correction in share prices wiped out a year of gains.",
    "The newspaper published a correction on Tuesday.",
    "The story was changed several times by police, the lawyer argued.",
    "Advertisement spending fell sharply during the pandemic.",
    "Continue reading the list of demands, the chairman told delegates.",
    "Police asked anyone with information to contact them.",
    "Watch out for falling prices, analysts warned.",
    "Most readers said they trust local news.",
    "Click rates on the ministry's website doubled.",
    "Join the protest, the union told its members.",
]


@pytest.mark.parametrize("line", PROSE, ids=[ln[:40] for ln in PROSE])
def test_prose_is_not_flagged(line):
    assert [r for _, r in _in_the_middle(line)] == [None] * len(_in_the_middle(line))


@pytest.mark.parametrize("line", PROSE, ids=[ln[:40] for ln in PROSE])
def test_prose_is_not_flagged_at_the_end_either(line):
    out = _flags(INTRO + "A final vote is expected next month.\n\n" + line)
    assert [r for _, r in out] == [None] * len(out), out


# -- author bios -----------------------------------------------------------------------
BODY = ("Residents of Valmora packed the town hall on Monday to oppose the harbour plan.\n\n"
        "The council ignored their objections and pushed the vote through.\n\n"
        "Councillor Ada Brenn called the decision a betrayal of the fishing families.")
BIO = ("Petra Ilsen is an award-winning journalist and a tireless champion of coastal "
       "communities whose fearless reporting has inspired readers across the region.")


def _reasons(text: str) -> list[str | None]:
    return [r for _, r in _flags(text)]


def test_closing_author_bio_is_flagged():
    assert _reasons(BODY + "\n\n" + BIO) == [None, None, None, "author_bio"]


def test_bio_continues_over_pronoun_sentences():
    text = BODY + ("\n\nTom Hale is a contributing editor at the Harbour Review. He has "
                   "written three books about the fishing industry. His latest book won "
                   "a national prize.")
    assert _reasons(text) == [None, None, None, "author_bio", "author_bio", "author_bio"]


@pytest.mark.parametrize("bio", [
    "The writer is a professor of maritime law at the University of Eastport.",
    "About the author: Tom Hale has covered coastal towns for twenty years.",
    "Petra Ilsen writes about fisheries and the sea for the Ledger.",
    "Nadia Sorel is a senior fellow at the Institute for Coastal Policy.",
])
def test_bio_forms(bio):
    assert _reasons(BODY + "\n\n" + bio)[-1] == "author_bio"


def test_bio_before_trailing_furniture():
    text = BODY + "\n\n" + BIO + ("\n\nFollow us on Instagram.\n\nSign up for our newsletter."
                                  "\n\n\u00a9 2024 The Coastal Ledger.")
    assert _reasons(text) == [None, None, None, "author_bio", "social_prompt",
                              "newsletter_prompt", "copyright"]


def test_bio_inside_a_paragraph_needs_the_bylines_name():
    tail = " Ilsen is a senior correspondent for the Ledger."
    with_byline = "By Petra Ilsen\n\n" + BODY + tail
    assert _reasons(with_byline) == ["byline", None, None, None, "author_bio"]
    assert _reasons(BODY + tail) == [None, None, None, None]


def test_bio_in_text_without_paragraphs():
    text = BODY.replace("\n\n", " ") + " " + BIO
    assert _reasons(text) == [None, None, None, "author_bio"]


@pytest.mark.parametrize("last", [
    # a source the article already quoted
    "Brenn is a former journalist who now runs the harbour cafe.",
    # titles name sources and officials
    "Dr Lena Park is a fellow at the Institute for Coastal Policy.",
    "Minister Karl Berg is a former correspondent for the state broadcaster.",
    # not a person's name
    "The minister is a former journalist.",
    "It is a story the town will tell for years.",
    # reported speech
    "\"Petra Ilsen is a brilliant writer,\" said her editor.",
    "Petra Ilsen is a journalist, according to the court papers.",
    # a pronoun sentence with no bio before it
    "She writes to the council every week.",
])
def test_closing_prose_is_not_a_bio(last):
    assert _reasons(BODY + "\n\n" + last)[-1] is None


def test_named_bio_sentence_mid_article_is_prose():
    text = (BIO + "\n\n" + BODY + "\n\nA final vote is expected next month.\n\n"
            "The council will publish its minutes on Friday.\n\nThe port opens in May.")
    assert _reasons(text) == [None] * 7


@pytest.mark.parametrize("text", [
    "SIGN UP FOR OUR NEWSLETTER\nThe council failed to publish its accounts again.",
    "Related: Harbour plan approved\nThe council failed to publish its accounts again.",
    "Photo: Jon Marrow/Coastal Ledger\n\u201cWe were never asked,\u201d one fisherman said.",
])
def test_furniture_line_run_into_prose_keeps_the_prose(text):
    # without a blank line or a full stop the segmenter makes one sentence of the two
    # lines; it holds prose, so it is not furniture
    p = prepare(text)
    assert len(p.sentences) == 1
    assert find_furniture(p.sentences, p.clean) == [None]


def test_furniture_over_several_lines_is_still_furniture():
    p = prepare("The council met.\n\nPhoto: Jon Marrow\nGetty Images")
    assert find_furniture(p.sentences, p.clean) == [None, "photo_credit"]


def _word_offsets(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def test_split_pieces_and_empty_input():
    assert find_furniture([]) == []
    long = "Sign up rules " + "and the harbour " * 60 + "were debated."
    p = prepare("Sign up for our newsletter.\n\n" + long, max_tokens=64,
                token_offsets=_word_offsets)
    reasons = find_furniture(p.sentences, p.clean)
    assert p.sentences[1].part == 1 and len(p.sentences) > 2
    assert reasons[0] == "newsletter_prompt"
    assert reasons[1:] == [None] * (len(p.sentences) - 1)  # pieces of a long sentence


def test_works_without_clean_text():
    p = prepare(BODY + "\n\n" + BIO + "\n\nBy Petra Ilsen")
    # without paragraphs the named bio counts in the last two sentences only
    assert find_furniture(p.sentences) == [None, None, None, "author_bio", "byline"]


# A post from an official account is often one short sentence and a link: that sentence
# is the content. (Found on real posts: a rule for "short line with a web address" flagged
# them all as related links.)
@pytest.mark.parametrize("post", [
    "The new rail line halves the trip between the two river ports. https://t.co/Ab12Cd34Ef",
    "Harvest festival lanterns light up the old town tonight! https://t.co/Zz9Yy8Xx7W",
    "It is a textbook case of a bully pressuring its neighbours. https://t.co/Q1w2E3r4T5",
    "Read the minister's full remarks at www.example-ministry.org today",
])
def test_a_short_sentence_with_a_link_is_a_post_not_furniture(post):
    assert all(reason is None for _, reason in _flags(post))
    assert all(reason is None for _, reason in _in_the_middle(post))


@pytest.mark.parametrize("line", ["https://t.co/Ab12Cd34Ef", "More: https://example.org/a/b",
                                  "www.example.org/news/2024/05/item"])
def test_a_bare_link_line_is_furniture(line):
    assert [r for _, r in _in_the_middle(line) if r] == ["related_links"]
