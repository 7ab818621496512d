// Keeps the dashboard's pages current: polls the page's JSON and updates the DOM in place.
// Every value from the server is untrusted text, so it only ever reaches the page through
// textContent and attributes set one by one; links come from the server as http(s) only.
"use strict";

(function () {
  const body = document.body;
  const api = body.dataset.api;
  const pollMs = Number(body.dataset.pollMs) || 2000;
  if (!api) return;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    const node = byId(id);
    if (node && node.textContent !== text) node.textContent = text;
  }

  function headline(segments) {
    return segments.map((s) =>
      s.kind === "strong" ? el("strong", { text: s.text })
        : s.kind === "code" ? el("code", { text: s.text })
          : document.createTextNode(s.text));
  }

  function tokens(budget, unit) {
    const parts = [el("span", { className: "tokens", text: budget.tokens })];
    if (unit) parts.push(" ", el("span", { className: "meta", text: "tokens" }));
    if (budget.percent !== null) {
      parts.push(el("progress", {
        className: "bar bar-" + budget.tone, max: "100", value: String(budget.percent),
        text: budget.percent + "%",
      }));
    }
    return parts;
  }

  function link(href, attrs, children) {
    // The server sends only http(s) URLs; this is a second lock on the same door.
    const safe = /^https?:\/\//i.test(href) ? href : null;
    return safe ? el("a", { ...attrs, href: safe, rel: "noreferrer" }, children) : el("span", attrs, children);
  }

  // the list of runs ---------------------------------------------------------------------------
  function runRow(r) {
    return el("tr", { "data-run": r.run_id }, [
      el("td", { className: "repo", text: r.repo }),
      el("td", { className: "issue" }, [
        el("a", { href: r.href }, [
          el("span", { className: "num", text: r.issue }), " ",
          el("span", { className: "title", text: r.title }),
        ]),
        el("div", { className: "headline" }, headline(r.headline)),
      ]),
      el("td", { className: "phase" }, [
        el("span", { className: "badge tone-" + r.tone, text: r.phase }),
        r.done ? el("div", { className: "meta", text: r.done }) : null,
      ]),
      el("td", { className: "budget" }, [
        el("div", {}, tokens(r.budget, true)),
        el("div", { className: "meta", text: r.budget.steps + " · CI " + r.budget.ci }),
      ]),
      el("td", { className: "age", text: r.age }),
    ]);
  }

  function showRuns(data) {
    const rows = data.runs.map(runRow);
    if (!rows.length) {
      const cell = el("td", { colspan: "5" }, ["No runs yet. Label an issue ", el("code", { text: "pilot" }), " and it shows up here."]);
      rows.push(el("tr", { className: "empty" }, [cell]));
    }
    byId("runs").replaceChildren(...rows);
  }

  // one run ------------------------------------------------------------------------------------
  function node(n) {
    const summary = el("summary", {}, [
      el("span", { className: "status status-" + n.status, text: n.label }),
      el("span", { className: "node-id", text: n.id }),
      el("span", { className: "node-title", text: n.title }),
      n.after ? el("span", { className: "after", text: "after " + n.after }) : null,
    ]);
    const details = el("details", {}, [
      summary,
      n.description ? el("p", { className: "node-desc", text: n.description }) : null,
      n.acceptance.length ? el("ul", { className: "acceptance" }, n.acceptance.map((a) => el("li", { text: a }))) : null,
    ]);
    return el("li", { className: `node depth-${n.depth} state-${n.status}`, "data-node": n.id }, [details]);
  }

  function showTree(nodes) {
    const list = byId("tree");
    const open = new Set([...list.querySelectorAll("details[open]")].map((d) => d.parentElement.dataset.node));
    const items = nodes.map(node);
    for (const item of items) {
      if (open.has(item.dataset.node)) item.firstChild.open = true;
    }
    list.replaceChildren(...(items.length ? items : [el("li", { className: "empty", text: "No plan yet." })]));
  }

  function ciRow(c) {
    const sha = el("code", { text: c.sha });
    return el("tr", { className: "ci-" + c.tone }, [
      el("td", { className: "num", text: String(c.attempt) }),
      el("td", {}, [c.href ? link(c.href, {}, [sha]) : sha]),
      el("td", { className: "num failing", text: String(c.failing) }),
      el("td", { className: "names", text: c.names }),
    ]);
  }

  function candidateRow(c) {
    return el("tr", { className: "cand-" + c.tone }, [
      el("td", { className: "node-id", text: c.node }),
      el("td", { className: "num", text: String(c.candidate) }),
      el("td", { className: "names", text: c.score }),
      el("td", { className: "num", text: c.reward }),
      el("td", { text: c.chosen ? "chosen" : "" }),
    ]);
  }

  function event(e) {
    const head = el("div", { className: "ev-head" }, [
      el("span", { className: "time", text: e.time }),
      e.node ? el("span", { className: "node-id", text: e.node }) : null,
      el("span", { className: "ev-title", text: e.title }),
      e.meta ? el("span", { className: "meta", text: e.meta }) : null,
    ]);
    const actions = e.actions.map((a) => el("details", { className: "action" }, [
      el("summary", {}, [
        el("span", { className: "tool", text: a.tool }), " ",
        el("code", { className: "target", text: a.target }),
        a.detail ? el("span", { className: "meta", text: " " + a.detail }) : null,
      ]),
      el("pre", { className: "output", text: a.output || "(no output)" }),
    ]));
    const tone = e.tone ? " ev-" + e.tone : "";
    return el("li", { className: `event kind-${e.kind}${tone}`, "data-n": String(e.number) }, [
      head, e.text ? el("pre", { className: "ev-text", text: e.text }) : null, ...actions,
    ]);
  }

  function callout(id, text) {
    byId(id).hidden = !text;
    byId(id).querySelector(".callout-text").textContent = text || "";
  }

  function showRun(data) {
    const r = data.run;
    const phase = byId("phase");
    phase.className = "badge tone-" + r.tone;
    phase.textContent = r.phase;
    byId("headline").replaceChildren(...headline(r.headline));
    setText("title", r.title);
    callout("question", r.question);
    callout("error", r.error);
    byId("f-tokens").replaceChildren(...tokens(r.budget));
    setText("f-steps", r.budget.steps);
    setText("f-ci", r.budget.ci);
    setText("f-started", r.started);
    setText("f-updated", r.updated);
    setText("f-attempt", String(r.attempt));
    byId("f-outcome-row").hidden = !r.outcome;
    setText("f-outcome", r.outcome || "");
    byId("links").replaceChildren(...r.links.map((l) => el("li", {}, [link(l.href, {}, [l.label])])));
    setText("done", r.done);
    showTree(r.tree);
    const ci = r.ci.map(ciRow);
    byId("ci").replaceChildren(...(ci.length ? ci : [el("tr", { className: "empty" }, [el("td", { colspan: "4", text: "No CI result yet." })])]));
    byId("candidates-panel").hidden = !r.candidates.length;
    byId("candidates").replaceChildren(...r.candidates.map(candidateRow));

    const list = byId("events");
    for (const e of data.events) {
      if (!list.querySelector(`[data-n="${e.number}"]`)) list.append(event(e));
    }
    byId("no-events").hidden = list.children.length > 0;
    body.dataset.next = String(data.next);
  }

  // polling ------------------------------------------------------------------------------------
  const live = byId("live");

  function status(text, stale) {
    live.hidden = false;
    live.textContent = text;
    live.classList.toggle("stale", stale);
  }

  async function poll() {
    if (document.hidden) return;
    let url = api;
    if (body.dataset.page === "run") url += "?since=" + encodeURIComponent(body.dataset.next || "0");
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      status("signed out: reopen with ?token=", true);
      return;
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    const data = await response.json();
    if (body.dataset.page === "run") {
      if (data.next < Number(body.dataset.next || 0)) {
        // The feed started over (Redis was wiped): draw the timeline again from its start.
        byId("events").replaceChildren();
        body.dataset.next = "0";
        return;
      }
      showRun(data);
    } else {
      showRuns(data);
    }
    status("live · " + new Date().toLocaleTimeString(), false);
  }

  async function loop() {
    try {
      await poll();
    } catch (error) {
      status("offline, retrying", true);
    }
    setTimeout(loop, pollMs);
  }

  status("live", false);
  setTimeout(loop, pollMs);
})();
