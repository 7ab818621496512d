"""ghsim's HTML view shows bodies as github.com does: GitHub-flavoured Markdown, sanitised."""

from __future__ import annotations

import json

import httpx

from ghsim.markdown import render_gfm
from tests.ghsim_support import Ghsim, unique

STATUS_BODY = (
    "### Issue Pilot\n\nWorking on it: a pull request is on its way.\n\n"
    "- [x] read the issue\n- [ ] open a pull request\n\n"
    "- branch `pilot/7`\n\n"
    '<!-- pilot:state {"phase": "agent", "attempt": 1, "secret": "hidden-state"} -->\n'
)


def gfm(text: str) -> str:
    return str(render_gfm(text, "octo/hello"))


def test_task_lists_are_disabled_checkboxes() -> None:
    html = gfm("- [ ] todo\n- [x] done\n- [X] also done\n- [y] not a task")
    assert '<ul class="contains-task-list">' in html
    assert (
        '<li class="task-list-item"><input type="checkbox" class="task-list-item-checkbox"'
        " disabled> todo</li>" in html
    )
    assert html.count("disabled checked>") == 2
    assert "<li>[y] not a task</li>" in html


def test_tables_strikethrough_and_line_breaks() -> None:
    html = gfm("| a | b |\n|:--|--:|\n| 1 | ~~2~~ |\n\nfirst\nsecond")
    assert '<th align="left">a</th>' in html and '<td align="right"><s>2</s></td>' in html
    assert "first<br>\nsecond" in html  # GitHub keeps a comment's line breaks


def test_fenced_code_keeps_its_language_and_runs_no_html() -> None:
    html = gfm('```python\nprint("<script>alert(1)</script>")\n```')
    assert '<code class="language-python">' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html


def test_autolinks_as_github_finds_them() -> None:
    html = gfm("https://example.org/a www.example.org me@example.org bare.example.org")
    assert '<a href="https://example.org/a" rel="nofollow">' in html
    assert '<a href="http://www.example.org" rel="nofollow">' in html
    assert '<a href="mailto:me@example.org" rel="nofollow">' in html
    assert "bare.example.org</p>" in html  # no scheme, no www.: GitHub leaves it text


def test_html_comments_are_hidden() -> None:
    html = gfm(STATUS_BODY + "\ninline <!-- hidden words --> text")
    assert "pilot:state" not in html and "hidden-state" not in html
    assert "hidden words" not in html and "<!--" not in html
    assert "<h3>Issue Pilot</h3>" in html and "inline  text" in html


def test_unsafe_html_is_removed() -> None:
    html = gfm(
        "<script>alert(1)</script>\n\n<style>body { display: none }</style>\n\n"
        '<iframe src="https://evil.example">framed</iframe>\n\n'
        '<img src="x.png" onerror="alert(2)"> <a href="javascript:alert(3)">js</a> '
        '<a href="/ok" onclick="alert(4)" class="user-mention" style="color: red">ok</a> '
        '<img src="javascript:alert(5)"> <input type="checkbox" checked> [md](javascript:alert(6))'
    )
    for unsafe in ("<script", "alert(1)", "<style", "display", "<iframe", "framed", "onerror"):
        assert unsafe not in html, unsafe
    for unsafe in ('="javascript:', "onclick", "class=", "style=", "<input"):
        assert unsafe not in html, unsafe
    assert '<img src="x.png">' in html and '<a href="/ok" rel="nofollow">ok</a>' in html
    assert "[md](javascript:alert(6))" in html  # not a link: left as the text it was


def test_githubs_allowed_tags_are_kept() -> None:
    html = gfm(
        "<details open><summary>More</summary>\n\n**inside** <kbd>Ctrl</kbd>"
        " H<sub>2</sub>O x<sup>2</sup><br>\n</details>"
    )
    assert '<details open=""><summary>More</summary>' in html
    assert "<strong>inside</strong> <kbd>Ctrl</kbd> H<sub>2</sub>O x<sup>2</sup><br>" in html


def test_mentions_and_references_are_linked_outside_code_and_links() -> None:
    html = gfm(
        "@alice see #12 and other/repo#3, not me@mail.example nor `@code #1` "
        "nor [@bob #4](https://example.org) nor issue#5"
    )
    assert '<a href="/alice" class="user-mention" rel="nofollow">@alice</a>' in html
    assert '<a href="/octo/hello/issues/12" class="issue-link" rel="nofollow">#12</a>' in html
    assert '<a href="/other/repo/issues/3" class="issue-link" rel="nofollow">' in html
    assert "<code>@code #1</code>" in html and ">@bob #4</a>" in html
    for unlinked in ("/mail", "/code", "/bob", "/1", "/4", "/5"):
        assert f'href="{unlinked}' not in html and f'{unlinked}"' not in html, unlinked


def test_unknown_users_and_issues_stay_text() -> None:
    class Known:
        def user(self, login: str) -> str | None:
            return "/alice" if login == "alice" else None

        def issue(self, full_name: str, number: int) -> str | None:
            return f"/{full_name}/pull/{number}" if number == 1 else None

    html = str(render_gfm("@alice @nobody #1 #2", "octo/hello", Known()))
    assert 'href="/alice"' in html and 'href="/octo/hello/pull/1"' in html
    assert "</a> @nobody <a" in html and "</a> #2</p>" in html


def test_the_page_shows_the_status_comment_without_its_state_block(ghsim: Ghsim) -> None:
    owner = unique("md")
    name = unique("repo")
    gh = ghsim.person(owner)
    gh.rest.repos.create_for_authenticated_user(name=name, auto_init=True)
    issue = gh.rest.issues.create(
        owner, name, title="Render me", body=f"Hi @{owner}, see #1 and #99.\n\n| a |\n|---|\n| b |"
    ).parsed_data
    gh.rest.issues.create_comment(owner, name, issue.number, body=STATUS_BODY)
    page = httpx.get(f"{ghsim.base_url}/{owner}/{name}/issues/{issue.number}")
    assert page.status_code == 200
    assert "pilot:state" not in page.text and "hidden-state" not in page.text
    assert "<h3>Issue Pilot</h3>" in page.text and "<td>b</td>" in page.text
    assert 'class="task-list-item-checkbox" disabled checked> read the issue' in page.text
    assert f'<a href="/{owner}" class="user-mention" rel="nofollow">@{owner}</a>' in page.text
    assert f'<a href="/{owner}/{name}/issues/1" class="issue-link"' in page.text
    assert "#99" in page.text and "issues/99" not in page.text  # no such issue: plain text
    user_page = httpx.get(f"{ghsim.base_url}/{owner}")
    assert user_page.status_code == 200 and f"{owner}/{name}" in user_page.text
    assert httpx.get(f"{ghsim.base_url}/{unique('nobody')}").status_code == 404
    comments = httpx.get(f"{ghsim.api_url}repos/{owner}/{name}/issues/{issue.number}/comments")
    assert json.loads(comments.text)[0]["body"] == STATUS_BODY  # the API keeps the raw text


def test_footnotes_link_both_ways_with_githubs_anchors() -> None:
    html = gfm('Claim[^1].\n\n[^1]: Source.\n\n<a id="mine" href="#x">own</a>')
    assert '<sup><a href="#user-content-fn-1" id="user-content-fnref-1"' in html
    assert '<li id="user-content-fn-1"><p>Source.' in html
    assert 'href="#user-content-fnref-1"' in html
    assert 'id="mine"' not in html  # a person's ids are GitHub's to drop
