"""axe-core's WCAG 2.1 A and AA rules on a Playwright page, for any browser test (the IdP's,
the portal's, the console's).

    from tests.browser.axe import assert_accessible
    page.goto(url)
    assert_accessible(page)                 # fails with every violation and its elements

or, to visit many pages (and states of a page) and fail once with all of them:

    audit = Audit()
    audit.check(page, "login, wrong password")
    ...
    audit.assert_clean()

axe-core comes from npm (``tests/interop/package.json``, installed by ``make interop``). It is
evaluated in the page through the DevTools protocol rather than added as a ``<script>`` tag:
our pages' Content-Security-Policy (``script-src 'self'``) refuses inline scripts, which is
what ``page.add_script_tag`` writes, and a context with ``bypass_csp`` would hide the very
policy the pages are served with. axe checks what is rendered, so check each state worth
checking (errors shown, a live message drawn) after the page reached it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError

AXE_JS = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA (not the "best-practice" rules, which are no criterion).
WCAG21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

_RUN = """async ([context, tags]) => {
  const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
  const results = await axe.run(context || document, options);
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
  }));
}"""


@functools.cache
def _source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `make interop` (npm ci in tests/interop)")
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Any, context: str | None = None, tags: tuple[str, ...] = WCAG21_AA) -> list[dict[str, Any]]:
    """axe's violations of ``tags`` on what ``page`` shows now (``context``: a CSS selector
    to check only part of it), once the page has loaded. A navigation that a click started
    and that lands during the check is waited for, and the check made on its page."""
    for attempt in range(3):
        page.wait_for_load_state()
        try:
            if not page.evaluate("() => typeof window.axe === 'object'"):
                page.evaluate(_source())
            result: list[dict[str, Any]] = page.evaluate(_RUN, [context, list(tags)])
            return result
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def report(found: list[dict[str, Any]], where: str) -> str:
    """One readable block per rule: what it asks, where it failed and why."""
    lines = [f"{where}: {len(found)} accessibility rule(s) violated"]
    for v in found:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    - {json.dumps(node['target'])}  {node['html'][:160]}")
            lines.extend(f"        {line}" for line in (node["summary"] or "").splitlines() if line.strip())
    return "\n".join(lines)


def assert_accessible(page: Any, context: str | None = None, where: str | None = None) -> None:
    """Fail with every WCAG 2.1 A/AA violation on the page as it is now."""
    found = violations(page, context)
    assert not found, report(found, where or page.url)


class Audit:
    """Checks many pages, fails once listing them all (a fix often clears several)."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Any, where: str, context: str | None = None) -> None:
        self.checked.append(where)
        found = violations(page, context)
        if found:
            self.failures.append(report(found, f"{where} ({page.url})"))

    def assert_clean(self) -> None:
        assert not self.failures, "\n\n".join(self.failures)
