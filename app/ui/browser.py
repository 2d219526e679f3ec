"""The playground's one page script: keyboard shortcuts, copy buttons, committing typed keys.

Streamlit has no keyboard shortcut for a text area nor a copy button for arbitrary text, so one
small script, added once per page (``install()``), listens on the document:

- **Ctrl/Cmd+Enter** in the Compare prompt presses *Run* (or *Send follow-up*). Streamlit's text
  area commits its value on that key itself; the click follows it, so the run sees the new text.
- **Copy buttons** drawn by ``copy_button()`` (plain HTML, the text in a ``data-`` attribute)
  copy their text to the clipboard (with a fallback where the Clipboard API is unavailable,
  e.g. plain http on a LAN address).
- **Tab in a password field** commits what was typed before the focus moves on: Streamlit's
  password field skips its commit when the focus goes to its own *Show password* toggle.
"""

from __future__ import annotations

import html

import streamlit as st

SCRIPT = """
<script>
(() => {
  if (window.__vvLlmPageScript) return;
  window.__vvLlmPageScript = true;
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement)) return;
    if (event.key === "Tab" && target.tagName === "INPUT") {
      const widget = target.closest("[data-testid=stTextInput]");
      if (widget && widget.querySelector("button[aria-label$=' password']")) target.blur();
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.tagName === "TEXTAREA" && target.closest(".st-key-prompt")) {
      const run = document.querySelector(".st-key-run-button button");
      if (run && !run.disabled) setTimeout(() => run.click(), 0);
    }
  }, true);
  // Markdown headings come with aria-labelledby pointing at their own text. Chromium keeps every
  // element named by such an attribute in a per-document map that outlives the element, so each
  // Compare run's cards (headings in titles and answers, with their whole subtree) stayed in
  // memory after the live refresh replaced them (~0.2 MB a run). The attribute adds nothing: the
  // heading's name is its own text. Drop it as headings appear.
  const dropLabelledBy = (root) => {
    if (!(root instanceof Element)) return;
    if (root.matches("h1[aria-labelledby], h2[aria-labelledby], h3[aria-labelledby], h4[aria-labelledby], h5[aria-labelledby], h6[aria-labelledby]")) root.removeAttribute("aria-labelledby");
    root.querySelectorAll("h1[aria-labelledby], h2[aria-labelledby], h3[aria-labelledby], h4[aria-labelledby], h5[aria-labelledby], h6[aria-labelledby]").forEach((h) => h.removeAttribute("aria-labelledby"));
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "attributes") dropLabelledBy(change.target);
      else change.addedNodes.forEach(dropLabelledBy);
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["aria-labelledby"] });
  dropLabelledBy(document.body);
  // Streamlit's UI library (react-aria) notes every element whose CSS transition starts, in a
  // list it prunes when a "transitionend" reaches the document. An element removed mid-transition
  // (the live refresh replaces cards while their borders and fades animate) never gets one, so
  // it stayed in that list with its whole card: ~0.2 MB per Compare run. We note the same
  // elements; once one has left the page we put it, for an instant, in a hidden box (no
  // transitions run there), send the "transitionend" it missed, and take it out again.
  const transitioned = new Map();
  document.addEventListener("transitionrun", (event) => {
    if (!(event.target instanceof Element)) return;
    if (!transitioned.has(event.target)) transitioned.set(event.target, new Set());
    transitioned.get(event.target).add(event.propertyName);
  }, true);
  const sweeper = document.createElement("div");
  sweeper.style.display = "none";
  sweeper.setAttribute("aria-hidden", "true");
  document.body.appendChild(sweeper);
  setInterval(() => {
    for (const [element, properties] of transitioned) {
      if (element.isConnected) continue;
      transitioned.delete(element);
      sweeper.appendChild(element);
      for (const propertyName of properties) element.dispatchEvent(new TransitionEvent("transitionend", { propertyName, bubbles: true }));
      element.remove();
    }
  }, 2000);
  const fallbackCopy = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
  };
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-vv-copy]") : null;
    if (!button) return;
    const text = button.getAttribute("data-vv-copy") || "";
    try {
      if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
      else fallbackCopy(text);
      button.dataset.vvCopied = "yes";
      button.querySelector(".vv-copy-label").textContent = "Copied";
    } catch (error) {
      button.querySelector(".vv-copy-label").textContent = "Copy failed";
    }
    setTimeout(() => { button.querySelector(".vv-copy-label").textContent = button.getAttribute("data-vv-label"); delete button.dataset.vvCopied; }, 1500);
  });
})();
</script>
<style>
.st-key-vv-page-script { display: none; }
button[data-vv-copy] {
  display: inline-flex; align-items: center; gap: 0.3rem; padding: 0.15rem 0.6rem; font-size: 0.8rem;
  border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; background: transparent; color: inherit; cursor: pointer;
}
button[data-vv-copy]:hover { border-color: currentColor; }
</style>
"""


_COPY_ICON = (
    '<svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">'
    '<rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/></svg>'
)


def install() -> None:
    """Add the page script (once per page; it is idempotent in the browser)."""
    with st.container(key="vv-page-script"):
        st.html(SCRIPT, unsafe_allow_javascript=True)


def copy_button(text: str, label: str = "Copy", *, title: str | None = None) -> None:
    """A button that copies ``text`` (exactly, e.g. raw Markdown) to the clipboard."""
    st.html(
        f'<button type="button" class="vv-copy" data-vv-copy="{html.escape(text, quote=True)}" '
        f'data-vv-label="{html.escape(label, quote=True)}" title="{html.escape(title or label, quote=True)}">'
        f'{_COPY_ICON}<span class="vv-copy-label">{html.escape(label)}</span></button>'
    )
