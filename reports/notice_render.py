"""Rendering a `Notice` into zh-CN plain text and HTML with Jinja templates.

Templates: `notice_<kind>.txt.j2` and `notice_<kind>.html.j2` for kind `receipt`, `deficiency`
and `guidance`, with `notice_base.html.j2` (layout) and `notice_signature.txt.j2` shared.  A file
of the same name in the configured `templates_dir` wins over the bundled one, so staff can
change any wording or only the signature without touching code.  HTML templates are
autoescaped (names and details come from submissions); text templates are not escaped, and every
value from a submission is flattened to one line before it reaches them.  A staff template that
fails to render is logged and the bundled one is used instead, so that an editing slip never
leaves units without an answer.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import jinja2

from reports.formatting import mb, minutes, one_line
from reports.notice_model import Notice, NoticeKind, RenderedNotice

log = logging.getLogger(__name__)

BUNDLED_TEMPLATES = Path(__file__).parent / "templates"


def template_names(kind: NoticeKind) -> tuple[str, str]:
    return f"notice_{kind}.txt.j2", f"notice_{kind}.html.j2"


@lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    bundled = jinja2.FileSystemLoader(str(BUNDLED_TEMPLATES))
    loader: jinja2.BaseLoader = bundled
    if templates_dir:
        # Staff's folder first: a file of the same name there replaces the bundled one, and a
        # staff template may still extend or include bundled ones.
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(templates_dir), bundled])
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "html.j2"),
            default_for_string=True,
            default=False,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["one_line"] = one_line
    env.filters["mb"] = mb
    env.filters["minutes"] = minutes
    return env


def render_notice(notice: Notice, templates_dir: Path | None = None) -> RenderedNotice:
    """The notice as plain text and HTML; a broken staff template falls back to the bundled."""
    folder = str(templates_dir) if templates_dir else None
    try:
        return _render(notice, _environment(folder))
    except jinja2.TemplateError:
        if folder is None:
            raise
        log.exception("template in %s failed; using the bundled templates", folder)
        return _render(notice, _environment(None))


def _render(notice: Notice, env: jinja2.Environment) -> RenderedNotice:
    text_name, html_name = template_names(notice.kind)
    context = notice.context()
    text = env.get_template(text_name).render(context)
    html = env.get_template(html_name).render(context)
    return RenderedNotice(text=_tidy_text(text), html=html)


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy_text(text: str) -> str:
    # Conditional blocks leave runs of blank lines behind; one blank line reads best.
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip() + "\n"
