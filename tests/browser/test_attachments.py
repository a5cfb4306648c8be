"""Files in a real browser: the visitor picks one with the paperclip, pastes an image and drops
a file on the chat; each shows at once (an image as a thumbnail, a PDF as a file card), and
the agent sees them live in the inbox and opens them."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from helpdesk.conversations.models import Attachment
from tests.browser.pages import quiet_workspace
from tests.browser.test_chat_flow import open_widget, sign_in
from tests.conftest import make_member

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 400), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


# A paste or a drop of one file, as the browser makes them (a DataTransfer with a File).
WITH_FILE = """([selector, kind, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  if (kind === "paste") target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  else for (const t of ["dragover", "drop"]) target.dispatchEvent(new DragEvent(t, { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


def test_a_visitor_picks_pastes_and_drops_files_and_the_agent_sees_them_live(browser, stack, host_site):
    workspace = quiet_workspace()
    agent = make_member(workspace, "agent@acme.test")
    site, widget = open_widget(browser, host_site.publish(workspace, stack.base_url))

    # 1. Picked, with a line of text.
    widget.locator("#composer-input").fill("The box arrived like this")
    widget.locator("#composer-files").set_input_files(
        {"name": "box.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    picked = widget.locator(".msg-customer[data-seq]").last
    expect(picked.locator(".bubble")).to_have_text("The box arrived like this")
    expect(picked.locator(".file-image img")).to_have_attribute("alt", "box.png")
    expect(picked.locator(".file-image img")).to_have_js_property("naturalWidth", 480)  # the thumbnail, loaded

    inbox = sign_in(browser, stack, agent)
    inbox.locator("#conversation-list a").first.click()
    expect(inbox.locator("[data-files] img")).to_have_count(1)

    # 2. Pasted into the text field; 3. dropped on the chat. Both reach the open inbox live.
    iframe = site.frames[1]
    iframe.evaluate(WITH_FILE, ["#composer-input", "paste", "", "image/png", base64.b64encode(png_bytes()).decode()])
    iframe.evaluate(
        WITH_FILE, ["body", "drop", "receipt.pdf", "application/pdf", base64.b64encode(b"%PDF-1.4 receipt").decode()]
    )
    expect(widget.locator(".msg-customer[data-seq] .file-card")).to_have_text("receipt.pdf 16\xa0bytes")
    expect(inbox.locator("[data-files] img")).to_have_count(2)
    expect(inbox.locator("[data-file-card]")).to_contain_text("receipt.pdf")
    assert sorted(Attachment.objects.values_list("name", flat=True)) == ["box.png", "pasted-image.png", "receipt.pdf"]

    # The agent opens the PDF: a download, never rendered in the product's pages.
    with inbox.expect_download() as download:
        inbox.locator("[data-file-card]").click()
    assert download.value.suggested_filename == "receipt.pdf"
    site.context.close()
    inbox.context.close()
