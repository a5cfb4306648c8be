"""With the keyboard alone: Esc closes the widget and gives the focus back to the launcher, and
every control of the widget, the inbox and the settings pages shows a focus ring that contrasts
with what is behind it (WCAG 2.4.7 and 1.4.11: 3:1)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpdesk.accounts.models import Membership
from helpdesk.knowledge.models import FAQ, Article
from tests.browser.pages import DESKTOP, conversation_with_every_kind, quiet_workspace, remember_visitor, signed_in
from tests.conftest import make_member

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

# The focused control and its ring: a visually hidden radio or checkbox (a segmented control)
# draws its ring on the label's face beside it; the colour behind the ring is that of the
# first opaque background outside it (inside it, for a ring drawn inwards).
FOCUSED = """() => {
  const paint = document.createElement("canvas").getContext("2d", {willReadFrequently: true});
  const rgb = (css) => {  // any CSS colour (Tailwind's are oklch) as sRGB, through a canvas
    paint.clearRect(0, 0, 1, 1); paint.fillStyle = css; paint.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = paint.getImageData(0, 0, 1, 1).data;
    return a ? `rgb(${r}, ${g}, ${b})` : null;
  };
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  if (el.__walked) return {repeat: true};
  el.__walked = true;
  if (el.tagName === "IFRAME") return {frame: true};
  const face = el.classList.contains("sr-only") ? el.nextElementSibling : el;
  const s = getComputedStyle(face);
  let behind = parseFloat(s.outlineOffset) < 0 ? face : face.parentElement, bg = "rgb(255, 255, 255)";
  for (; behind; behind = behind.parentElement) {
    const c = rgb(getComputedStyle(behind).backgroundColor);
    if (c) { bg = c; break; }
  }
  const label = el.getAttribute("aria-label") || (face !== el && face.textContent.trim())
    || (el.labels && el.labels.length && el.labels[0].textContent.trim()) || el.name || el.textContent.trim().slice(0, 40);
  return {name: `${el.tagName.toLowerCase()} ${label}`, style: s.outlineStyle, width: parseFloat(s.outlineWidth),
          color: rgb(s.outlineColor), bg};
}"""


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css)[:3])


def _luminance(css: str) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def walk(page, frame=None, key: str = "Tab", limit: int = 200) -> list[dict]:
    """The ring of the focused control, then of each control that `key` reaches, until the focus
    leaves `frame` (the page, by default) or comes round again."""
    target = frame or page
    rings = []
    for i in range(limit):
        if i:
            page.keyboard.press(key)
        ring = target.evaluate(FOCUSED)
        if ring is None and not i:
            continue
        if ring is None or ring.get("repeat"):
            break
        if not ring.get("frame"):
            rings.append(ring)
    else:
        raise AssertionError(f"the focus did not come round after {limit} presses of {key}")
    return rings


def faint(rings: list[dict]) -> list[dict]:
    """The rings that do not show: none, thinner than 2px, or under 3:1 against what is behind."""
    return [
        r
        for r in rings
        if r["style"] == "none" or r["width"] < 2 or not r["color"] or contrast(r["color"], r["bg"]) < 3
    ]


@pytest.fixture
def workspace():
    return quiet_workspace()


@pytest.fixture
def owner(workspace):
    return make_member(workspace, "owner@acme.test", Membership.Role.OWNER)


def open_by_keyboard(browser, stack, host_site, workspace, raw=None):
    context = browser.new_context(**DESKTOP)
    if raw:
        remember_visitor(context, workspace, raw)
    page = context.new_page()
    page.goto(host_site.publish(workspace, stack.base_url))
    launcher = page.locator("#helpdesk-widget > button")
    launcher.focus()
    page.keyboard.press("Enter")
    widget = page.frame_locator("#helpdesk-widget iframe")
    expect(widget.locator("#composer-input")).to_be_focused()
    return page, widget, launcher


def test_esc_closes_the_widget_and_gives_the_focus_back_to_the_launcher(browser, stack, host_site, workspace):
    page, widget, launcher = open_by_keyboard(browser, stack, host_site, workspace)
    widget.locator("#composer-input").press("Escape")
    expect(page.locator("#helpdesk-widget iframe")).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    # Open again from the launcher, and Esc while the focus is still on it closes it too.
    page.keyboard.press("Enter")
    expect(page.locator("#helpdesk-widget iframe")).to_be_visible()
    launcher.focus()
    page.keyboard.press("Escape")
    expect(page.locator("#helpdesk-widget iframe")).to_be_hidden()
    expect(launcher).to_be_focused()
    page.context.close()


def test_every_control_in_the_widget_shows_its_focus(browser, stack, host_site, workspace, owner):
    _conversation, raw = conversation_with_every_kind(workspace, owner)
    page, widget, _launcher = open_by_keyboard(browser, stack, host_site, workspace, raw)
    expect(widget.locator(".msg-ai .sources a")).to_be_visible()
    frame = next(f for f in page.frames if "/chat?" in f.url)
    rings = walk(page, frame, "Shift+Tab")
    widget.locator("#composer-input").focus()
    frame.evaluate("() => { delete document.activeElement.__walked; }")
    rings += walk(page, frame, "Tab")
    names = " ".join(r["name"] for r in rings)
    for control in ("Close the chat", "Shipping and delivery", "Helpful", "That solved it", "Send"):
        assert control in names
    assert faint(rings) == []
    page.context.close()


def test_every_control_in_the_inbox_shows_its_focus(browser, stack, workspace, owner):
    conversation, _raw = conversation_with_every_kind(workspace, owner)
    context = signed_in(browser, stack, owner, **DESKTOP)
    page = context.new_page()
    page.goto(f"{stack.base_url}/inbox/c/{conversation.pk}/")
    expect(page.locator("[data-thread] .message")).to_have_count(4)
    rings = walk(page)
    names = " ".join(r["name"] for r in rings)
    for control in ("Online", "Search", "Reply", "Suggest reply", "Send", "Sign out", "Status"):
        assert control in names, control
    assert faint(rings) == []
    context.close()


def test_every_control_on_the_settings_pages_shows_its_focus(browser, stack, workspace, owner):
    Article.objects.create(workspace=workspace, title="Returns", body="Within 30 days.")
    FAQ.objects.create(workspace=workspace, question="Do you ship abroad?", answer="Yes.")
    context = signed_in(browser, stack, owner, **DESKTOP)
    page = context.new_page()
    found = {}
    for url in ("/settings/widget/", "/settings/knowledge/", "/settings/team/"):
        page.goto(stack.base_url + url)
        rings = walk(page)
        assert len(rings) > 5, url
        found[url] = faint(rings)
    assert found == {url: [] for url in found}
    context.close()
