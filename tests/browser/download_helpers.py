"""Downloading in the browser as a member does (app_pages/downloads.py): a costly export is
first prepared ("Prepare <label>"), then its download button delivers the file."""

from __future__ import annotations

from pathlib import Path


def prepare(page, label: str, timeout: float = 60_000) -> None:
    """Press "Prepare <label>" if the page offers it, and wait for the download button."""
    button = page.get_by_role("button", name=f"Prepare {label.removeprefix('Download ')}")
    page.get_by_role("button", name=label).first.wait_for(timeout=timeout)
    if button.count():
        button.click()
        button.wait_for(state="detached", timeout=timeout)
    page.get_by_role("button", name=label).first.wait_for(timeout=timeout)


def download(page, label: str, timeout: float = 60_000) -> bytes:
    """The file the download button ``label`` delivers (prepared first when needed)."""
    prepare(page, label, timeout)
    with page.expect_download(timeout=timeout) as info:
        page.get_by_role("button", name=label).first.click()
    assert info.value.failure() is None
    return Path(info.value.path()).read_bytes()
