"""Was this mail written by a person, or is it a bounce or an automatic reply?

Nothing automatic may ever get an automatic answer (RFC 3834, SPEC "Replies"): answering an
out-of-office with a receipt starts a mail loop, answering a bounce mails a postmaster.  The
signals are a table of named predicates so that a classification can be explained to staff
("bounce: multipart/report delivery-status") and a new pattern is one line.

Mailing lists and no-reply senders count as `auto_reply`: they are not a person who can act on
a deficiency notice, and a reply to a list reaches everyone on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from parsers.model import ParsedMail

Automatic = Literal["auto_reply", "bounce"]
Signal = tuple[str, Callable[[ParsedMail], bool]]


def _values(mail: ParsedMail, name: str) -> list[str]:
    return [v.strip() for v in mail.headers.get(name, [])]


def _first(mail: ParsedMail, name: str) -> str:
    values = _values(mail, name)
    return values[0].lower() if values else ""


def _has(mail: ParsedMail, name: str) -> bool:
    return any(_values(mail, name))


def _param(value: str, name: str) -> str:
    match = re.search(rf"""\b{name}\s*=\s*"?([\w.+-]+)""", value, re.IGNORECASE)
    return match.group(1).lower() if match else ""


def _local_part(address: str) -> str:
    return address.rsplit("@", 1)[0].lower() if address else ""


# --------------------------------------------------------------------------- bounce signals

_BOUNCE_SENDERS = re.compile(
    r"^(mailer-daemon|mailer_daemon|mailerdaemon|maildaemon|mail-daemon|mdaemon|"
    r"postmaster|post_master|post-master|mail\.delivery\.system|bounces?)$",
    re.IGNORECASE,
)
# The raw From when the address itself is broken (`<Postmaster\@example.com@host>`, Mailman's
# simple_35) or absent (`MAILER-DAEMON` with no domain).
_BOUNCE_RAW_FROM = re.compile(
    r"(?:^|[<\s\"'(])(?:mailer-daemon|postmaster|post_master)(?:$|[@>\s\\)])", re.IGNORECASE
)
_BOUNCE_NAMES = re.compile(
    r"mail delivery (subsystem|system|service)|mailer[- ]daemon|postmaster|"
    r"系统退信|退信服务|邮件投递系统",
    re.IGNORECASE,
)
# Subjects of non-delivery reports from the MTAs seen in Chinese and international mail:
# Postfix, Sendmail, Exim, qmail, Exchange/Office 365, Gmail, Coremail (163/126/政务邮箱), QQ.
_BOUNCE_SUBJECT = re.compile(
    r"undeliver(able|ed)|"
    r"delivery status notification|"
    r"returned mail|"
    r"mail delivery (failed|failure|problem|system|warning)|"
    r"^mail error|"
    r"delivery (failure|failed|has failed|notification|problem|report)|"
    r"failure notice|"
    r"non[- ]?deliver|"
    r"could not be delivered|"
    r"couldn't be delivered|"
    r"message not delivered|"
    r"delayed mail|"
    r"warning: could not send message|"
    r"mail system error|"
    r"nicht zustellbar|"
    r"退信|"
    r"邮件(投递|传输|发送)失败|"
    r"未能(成功)?(送达|投递)|"
    r"无法(送达|投递)|"
    r"投递(失败|延迟)|"
    r"发送失败",
    re.IGNORECASE,
)


def _report_type(mail: ParsedMail) -> str:
    if mail.content_type != "multipart/report":
        return ""
    return _param(_first(mail, "content-type"), "report-type") or "unspecified"


def _is_dsn_report(mail: ParsedMail) -> bool:
    # Read receipts (disposition-notification) are reports too, but they are not about a
    # failed delivery; they still must not be answered, see _is_other_report.
    return _report_type(mail) in {"delivery-status", "feedback-report", "unspecified"}


def _is_other_report(mail: ParsedMail) -> bool:
    return _report_type(mail) not in {"", "delivery-status", "feedback-report", "unspecified"}


def _from_daemon(mail: ParsedMail) -> bool:
    return (
        bool(_BOUNCE_SENDERS.match(_local_part(mail.from_addr)))
        or bool(_BOUNCE_NAMES.search(mail.from_name))
        or any(_BOUNCE_RAW_FROM.search(v) for v in _values(mail, "from"))
    )


def _null_from(mail: ParsedMail) -> bool:
    # `From: "Jetmail System" <>`: only delivery reports are sent from the null address.
    return any(v.replace(" ", "").endswith("<>") for v in _values(mail, "from"))


def _report_content_type(mail: ParsedMail) -> bool:
    # A bare delivery-status body with no multipart/report around it (flanker delayed-broken).
    return mail.content_type in {"message/delivery-status", "message/global-delivery-status"}


# DSN fields or a delivery notice in the body.  Only believed from a machine sender (no-reply,
# daemon, null return path): a person forwarding a bounce to ask for help must stay a person.
_DSN_BODY = re.compile(
    r"^\s*(reporting-mta|final-recipient|diagnostic-code)\s*:|"
    r"could not be delivered|undeliverable|delivery (to the following recipients? )?"
    r"(has )?failed|permanent(ly)? (error|fatal)|"
    r'"notificationtype"\s*:\s*"(bounce|complaint|delivery)"|'
    r"退信|无法投递|投递失败",
    re.IGNORECASE | re.MULTILINE,
)


def _machine_dsn_body(mail: ParsedMail) -> bool:
    machine = _noreply_sender(mail) or _empty_return_path(mail)
    return machine and bool(_DSN_BODY.search(mail.text[:20000]))


def _bounce_subject(mail: ParsedMail) -> bool:
    return bool(_BOUNCE_SUBJECT.search(mail.subject))


def _failed_recipients(mail: ParsedMail) -> bool:
    # Exim and Google add it to every bounce; nothing else sets it.
    return _has(mail, "x-failed-recipients")


def _auto_submitted_failure(mail: ParsedMail) -> bool:
    # `Auto-Submitted: auto-generated (failure)` is what Postfix and Exim write on DSNs.
    value = _first(mail, "auto-submitted")
    return value.startswith("auto-generated") and "failure" in value


BOUNCE_SIGNALS: tuple[Signal, ...] = (
    ("multipart/report delivery-status", _is_dsn_report),
    ("message/delivery-status body", _report_content_type),
    ("X-Failed-Recipients", _failed_recipients),
    ("Auto-Submitted failure", _auto_submitted_failure),
    ("From mailer-daemon/postmaster", _from_daemon),
    ("From the null address", _null_from),
    ("bounce subject", _bounce_subject),
    ("DSN text from a machine sender", _machine_dsn_body),
)

# --------------------------------------------------------------------------- auto-reply signals

_AUTO_SUBJECT = re.compile(
    r"自动回复|自动答复|自动应答|休假|不在办公室|"
    r"\[?auto[- ]generated\]?|"
    r"auto(matic|matische)?[- ]?(reply|response|antwort|answer)|autoreply|auto-?respon|"
    r"out of (the )?office|out-of-office|on vacation|vacation reply|"
    r"abwesenheit|réponse automatique|risposta automatica|respuesta automática|"
    r"away from (my|the) (desk|office)|"
    r"read receipt|已读回执|"
    r"^read:\s|^已读:",
    re.IGNORECASE,
)
# The local parts of machine senders: no-reply addresses, daemons, bounce handlers,
# notification robots.  One list for the classifier and for the outbox, which checks the
# address again before answering: an answer to one of them is exactly the loop RFC 3834 is
# about, whatever `kind` says.
_MACHINE_LOCAL = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|.*[-_.]noreply|noreply[-_.].*|"
    r"mailer[-_]?daemon|mail[-_]?daemon|postmaster|bounces?([-+].*)?|notifications?)$",
    re.IGNORECASE,
)


def is_machine_address(address: str) -> bool:
    """Is this the address of a machine (no-reply, daemon, bounces, notifications), never a
    person who could act on an answer?"""
    return bool(_MACHINE_LOCAL.match(_local_part(address)))


_X_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-autogenerated")


def _auto_submitted(mail: ParsedMail) -> bool:
    value = _first(mail, "auto-submitted")
    return bool(value) and not value.startswith("no")


def _precedence(mail: ParsedMail) -> bool:
    return _first(mail, "precedence") in {"bulk", "junk", "list", "auto_reply", "auto-reply"}


_LIST_HEADERS = (
    "list-id",
    "list-unsubscribe",
    "list-subscribe",
    "list-post",
    "list-help",
    "list-owner",
    "list-archive",
    "mailing-list",
    "x-mailing-list",
    "x-ml-name",
    "x-mlserver",
)


def _list_headers(mail: ParsedMail) -> bool:
    return any(_has(mail, h) for h in _LIST_HEADERS)


def _x_autoreply(mail: ParsedMail) -> bool:
    # Not X-Auto-Response-Suppress: Exchange puts it on ordinary mail a person wrote
    # (Discourse's quirks_exchange_xars.eml), asking others not to auto-reply to it.
    return any(_has(mail, h) for h in _X_AUTO_HEADERS)


def _empty_return_path(mail: ParsedMail) -> bool:
    return any(v.replace(" ", "") in {"<>", ""} for v in _values(mail, "return-path"))


def _noreply_sender(mail: ParsedMail) -> bool:
    return is_machine_address(mail.from_addr)


def _auto_subject(mail: ParsedMail) -> bool:
    return bool(_AUTO_SUBJECT.search(mail.subject))


AUTO_SIGNALS: tuple[Signal, ...] = (
    ("Auto-Submitted", _auto_submitted),
    ("X-Autoreply/X-Autorespond", _x_autoreply),
    ("Precedence bulk/junk/list/auto_reply", _precedence),
    ("List-Id/List-Unsubscribe", _list_headers),
    ("empty return path", _empty_return_path),
    ("multipart/report (not delivery-status)", _is_other_report),
    ("no-reply sender", _noreply_sender),
    ("auto-reply subject", _auto_subject),
)


def automatic_signals(mail: ParsedMail) -> list[tuple[Automatic, str]]:
    """Every signal that fires, as (kind, signal name), bounce signals first."""
    fired: list[tuple[Automatic, str]] = []
    for name, predicate in BOUNCE_SIGNALS:
        if predicate(mail):
            fired.append(("bounce", name))
    for name, predicate in AUTO_SIGNALS:
        if predicate(mail):
            fired.append(("auto_reply", name))
    return fired


def classify_automatic(mail: ParsedMail) -> Automatic | None:
    """`bounce`, `auto_reply`, or None for a message a person wrote."""
    signals = automatic_signals(mail)
    return signals[0][0] if signals else None


def is_list_or_noreply(mail: ParsedMail) -> bool:
    """A list or a no-reply address: never answered, whatever else the mail looks like."""
    return _list_headers(mail) or _precedence(mail) or _noreply_sender(mail)
