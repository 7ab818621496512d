"""Issue, comment and PR bodies as github.com shows them: GitHub-flavoured Markdown, sanitised.

GitHub renders a body with cmark-gfm (tables, strikethrough, autolinks, task lists; in issues
and comments a newline is a line break), then sanitises the HTML with an allowlist (html-pipeline's
``SanitizationFilter``: no script, style, iframe, forms, ``on*`` or ``style`` attributes, no
``class``, links only http(s), mailto and relative), then adds its own markup: task list
checkboxes, @mention and #reference links. This module does the same in that order, with
markdown-it-py and nh3 (ammonia).

Markup this module generates must survive the sanitiser while the same markup written by a
person must not (GitHub drops a person's ``class`` and ``<input>``). Each render therefore
draws a nonce: generated ``class`` values carry it and the sanitiser keeps only those, and task
list checkboxes are nonce text swapped for ``<input>`` after sanitising.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Protocol

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup
from mdit_py_plugins.footnote import footnote_plugin


class Links(Protocol):
    """Where a mention or a reference points, or None where GitHub would leave it plain text
    (an unknown user, an issue that does not exist)."""

    def user(self, login: str) -> str | None: ...

    def issue(self, full_name: str, number: int) -> str | None: ...


class LinkEverything:
    """Links every mention and reference, for a body shown without a simulator to ask."""

    def user(self, login: str) -> str | None:
        return f"/{login}"

    def issue(self, full_name: str, number: int) -> str | None:
        return f"/{full_name}/issues/{number}"


def render_gfm(text: str | None, repo_full_name: str, links: Links | None = None) -> Markup:
    """``text`` as GitHub shows it in ``repo_full_name``: Markdown rendered, then sanitised."""
    nonce = "gfm" + secrets.token_hex(8)
    # docId: the footnote plugin puts it in its ids, so only the plugin's ids carry the nonce
    env = {
        "nonce": nonce,
        "docId": nonce,
        "repo": repo_full_name,
        "links": links or LinkEverything(),
    }
    html = nh3.clean(
        _markdown().render(text or "", env),
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter(nonce),
        url_schemes=_URL_SCHEMES,
        link_rel="nofollow",
        strip_comments=True,
    )
    for checked in (False, True):
        html = html.replace(_checkbox_marker(nonce, checked), _checkbox(checked))
    return Markup(html)


# -- sanitising, after html-pipeline's SanitizationFilter allowlist ---------------------------

_TAGS = {
    *("h1", "h2", "h3", "h4", "h5", "h6", "br", "b", "i", "strong", "em", "a", "pre", "code"),
    *("img", "tt", "div", "ins", "del", "sup", "sub", "p", "ol", "ul", "table", "thead"),
    *("tbody", "tfoot", "blockquote", "dl", "dt", "dd", "kbd", "q", "samp", "var", "hr"),
    *("ruby", "rt", "rp", "li", "tr", "td", "th", "s", "strike", "summary", "details"),
    *("caption", "figure", "figcaption", "abbr", "bdo", "cite", "dfn", "mark", "small"),
    *("span", "time", "wbr", "picture", "source"),
}
# GitHub drops these with what they hold; other unknown tags go but their text stays.
_CLEAN_CONTENT = {"script", "style", "iframe", "noscript", "textarea", "title", "xmp"}
_URL_SCHEMES = {"http", "https", "mailto"}
_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "longdesc"},
    "div": {"itemscope", "itemtype"},
    "blockquote": {"cite"},
    "del": {"cite"},
    "ins": {"cite"},
    "q": {"cite"},
    "source": {"srcset", "media"},
    # `class` and `id` only pass with this render's nonce (see _attribute_filter); `rel` is set
    # by link_rel as GitHub sets it (nofollow).
    "*": {
        *("abbr", "accept", "accept-charset", "accesskey", "action", "align", "alt"),
        *("aria-describedby", "aria-hidden", "aria-label", "aria-labelledby", "axis"),
        *("border", "cellpadding", "cellspacing", "char", "charoff", "charset", "checked"),
        *("class", "clear", "cols", "colspan", "color", "compact", "coords", "datetime"),
        *("dir", "disabled", "enctype", "for", "frame", "headers", "height", "hreflang"),
        *("hspace", "ismap", "label", "lang", "maxlength", "media", "method", "multiple"),
        *("name", "nohref", "noshade", "nowrap", "open", "progress", "prompt", "readonly"),
        *("rev", "role", "rows", "rowspan", "rules", "scope", "selected", "shape", "size"),
        *("span", "start", "summary", "tabindex", "target", "title", "type", "usemap"),
        *("valign", "value", "vspace", "width", "itemprop", "id"),
    },
}
# Images and citations take http(s) or relative URLs only (no mailto:, unlike links).
_WEB_ONLY = {("img", "src"), ("img", "longdesc"), ("source", "srcset")} | {
    (tag, "cite") for tag in ("blockquote", "del", "ins", "q")
}
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


def _attribute_filter(nonce: str) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "class":
            mine, _, classes = value.partition(" ")
            return classes if mine == nonce and classes else None
        if attribute == "id" or (attribute == "href" and value.startswith("#")):
            # Footnote anchors, named as GitHub names them: `user-content-fn-1`.
            if f"-{nonce}-" not in value:
                return None if attribute == "id" else value
            anchor = value.replace(f"-{nonce}-", "-")
            return (
                f"#user-content-{anchor[1:]}" if attribute == "href" else f"user-content-{anchor}"
            )
        if (tag, attribute) in _WEB_ONLY:
            scheme = _SCHEME.match(value)
            return value if scheme is None or scheme[1].lower() in ("http", "https") else None
        return value

    return keep


def _checkbox_marker(nonce: str, checked: bool) -> str:
    return f"{nonce}{'x' if checked else 'o'}"


def _checkbox(checked: bool) -> str:
    state = " checked" if checked else ""
    return f'<input type="checkbox" class="task-list-item-checkbox" disabled{state}> '


# -- rendering ---------------------------------------------------------------------------------


@cache
def _markdown() -> MarkdownIt:
    # Issues and comments keep their line breaks on GitHub (unlike README files).
    md = MarkdownIt("gfm-like", {"breaks": True})
    # Fuzzy links (bare `example.com`) are dropped in _github_autolinks, but linkify-it must
    # find them for `www.` links, which GitHub does link.
    md.core.ruler.push("github_autolinks", _github_autolinks)
    md.core.ruler.push("task_lists", _task_lists)
    md.core.ruler.push("references", _references)
    md.core.ruler.push("table_align", _table_align)
    md.add_render_rule("fence", _fence)
    md.use(footnote_plugin, inline=False)  # GitHub has `[^1]` footnotes, not inline `^[...]`
    md.add_render_rule("footnote_caption", _footnote_caption)
    md.add_render_rule("footnote_block_open", _footnotes_open)
    md.add_render_rule("footnote_block_close", _footnotes_close)
    return md


_AUTOLINK_STARTS = ("http://", "https://", "ftp://", "www.")


def _github_autolinks(state: StateCore) -> None:
    """Autolinks as cmark-gfm finds them: with a scheme, `www.` or an e-mail address."""
    for block in _inlines(state):
        children: list[Token] = []
        kids = block.children or []
        i = 0
        while i < len(kids):
            token = kids[i]
            if token.type == "link_open" and token.markup == "linkify" and i + 2 < len(kids):
                text = kids[i + 1].content
                href = str(token.attrGet("href") or "")
                if not (text.lower().startswith(_AUTOLINK_STARTS) or href.startswith("mailto:")):
                    children.append(_text(text))
                    i += 3
                    continue
            children.append(token)
            i += 1
        block.children = _joined(children)


_TASK = re.compile(r"^\[([ xX])\][ \t]")


def _task_lists(state: StateCore) -> None:
    """`- [ ] item` and `- [x] item` become disabled checkboxes, as on GitHub."""
    tokens, nonce = state.tokens, state.env["nonce"]
    lists: list[Token] = []
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(token)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif token.type == "list_item_open" and _is_task(tokens, i):
            first = (tokens[i + 2].children or [])[0]
            checked = first.content[1] != " "
            first.content = first.content[4:]
            marker = _text(_checkbox_marker(nonce, checked))
            tokens[i + 2].children = [marker, *(tokens[i + 2].children or [])]
            token.attrSet("class", f"{nonce} task-list-item")
            lists[-1].attrSet("class", f"{nonce} contains-task-list")


def _is_task(tokens: Sequence[Token], i: int) -> bool:
    if i + 2 >= len(tokens) or tokens[i + 1].type != "paragraph_open":
        return False
    children = tokens[i + 2].children or []
    return bool(children) and children[0].type == "text" and bool(_TASK.match(children[0].content))


# GitHub's mention and reference patterns: not inside a word, nor an e-mail address or a URL.
_LOGIN = r"[A-Za-z0-9][A-Za-z0-9-]*"
_REFERENCE = re.compile(
    rf"(?<![\w@/#.&-])(?:@(?P<login>{_LOGIN})(?![\w/-]|\.+\w)"
    rf"|(?:(?P<owner>{_LOGIN})/(?P<name>[\w.-]+))?#(?P<number>[1-9]\d*)(?!\w))"
)
_HTML_LINK_OPEN = re.compile(r"^<a[\s>]", re.IGNORECASE)
_HTML_LINK_CLOSE = re.compile(r"^</a\s*>", re.IGNORECASE)


def _references(state: StateCore) -> None:
    """@login and #123 (or owner/repo#123) become links, outside links and code, where
    GitHub knows the user or the issue."""
    links: Links = state.env["links"]
    for block in _inlines(state):
        children: list[Token] = []
        in_link = 0
        for token in block.children or []:
            if token.type == "link_open" or (
                token.type == "html_inline" and _HTML_LINK_OPEN.match(token.content)
            ):
                in_link += 1
            elif token.type == "link_close" or (
                token.type == "html_inline" and _HTML_LINK_CLOSE.match(token.content)
            ):
                in_link = max(0, in_link - 1)
            if token.type == "text" and not in_link:
                children.extend(_linked(token.content, state.env, links))
            else:
                children.append(token)
        block.children = children


def _linked(text: str, env: Mapping[str, Any], links: Links) -> list[Token]:
    tokens: list[Token] = []
    done = 0
    for match in _REFERENCE.finditer(text):
        if match["login"]:
            href, css = links.user(match["login"]), "user-mention"
        else:
            repo = f"{match['owner']}/{match['name']}" if match["owner"] else env["repo"]
            href, css = links.issue(repo, int(match["number"])), "issue-link"
        if href is None:
            continue
        if match.start() > done:
            tokens.append(_text(text[done : match.start()]))
        opening = Token("link_open", "a", 1)
        opening.attrs = {"href": href, "class": f"{env['nonce']} {css}"}
        tokens += [opening, _text(match[0]), Token("link_close", "a", -1)]
        done = match.end()
    if done < len(text):
        tokens.append(_text(text[done:]))
    return tokens


def _table_align(state: StateCore) -> None:
    """Column alignment as cmark-gfm writes it (``align=``): GitHub strips ``style=``."""
    for token in state.tokens:
        style = token.attrGet("style") if token.type in ("th_open", "td_open") else None
        if isinstance(style, str) and style.startswith("text-align:"):
            token.attrs = {"align": style.removeprefix("text-align:")}


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    words = unescapeAll(token.info).split()
    code = escapeHtml(token.content)
    if not words:
        return f"<pre><code>{code}</code></pre>\n"
    lang = escapeHtml(words[0])
    return f'<pre lang="{lang}"><code class="{env["nonce"]} language-{lang}">{code}</code></pre>\n'


def _footnote_caption(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return str(tokens[idx].meta["id"] + 1)  # GitHub shows `1`, not `[1]`


def _footnotes_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # A div, not the plugin's <section>: that tag is not on GitHub's allowlist.
    return f'<div class="{env["nonce"]} footnotes">\n<ol>\n'


def _footnotes_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "</ol>\n</div>\n"


def _inlines(state: StateCore) -> list[Token]:
    return [token for token in state.tokens if token.type == "inline"]


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _joined(tokens: list[Token]) -> list[Token]:
    """Adjacent text tokens as one, so a reference split by an unlinked URL is still found."""
    out: list[Token] = []
    for token in tokens:
        if token.type == "text" and out and out[-1].type == "text":
            out[-1].content += token.content
        else:
            out.append(token)
    return out
