"""A real headless Chromium driven over the DevTools protocol, for the browser explorer's tests.

The protocol runs over a pipe (`--remote-debugging-pipe`: JSON messages separated by NUL
bytes, commands on the browser's fd 3, answers on its fd 4), so only the standard library
is needed. CI installs Chromium from Debian's packages (`.ci/run`).
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any, Dict, Optional

import numpy as np
from PIL import Image

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Optional[str]:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _high(fd: int) -> int:
    """`fd` moved to a number >= 100."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)
    os.close(fd)
    return moved


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with one page (tab)."""

    def __init__(self, executable: str, width: int = 1200, height: int = 900, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        # The child's ends go above any fd in use, so that moving them onto 3 and 4 cannot clobber one another.
        to_browser_read, self._to_browser = (_high(fd) for fd in os.pipe())
        self._from_browser, from_browser_write = (_high(fd) for fd in os.pipe())
        arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                     f"--window-size={width},{height}", "about:blank"]
        # bash puts the pipe ends on fds 3 and 4, where Chromium expects them (sh allows only fds 0-9).
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser_read} 4>&{from_browser_write}', executable, *arguments],
            pass_fds=(to_browser_read, from_browser_write), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.session = None
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.call("Page.enable")
            self.call("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        except Exception:
            self.close()
            raise

    def _read_message(self, deadline: float) -> Dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("no answer from Chromium in time")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium exited: {self._stderr_tail()}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _stderr_tail(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def evaluate(self, expression: str, timeout: Optional[float] = None):
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"JavaScript error: {details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def wait_for(self, condition: str, timeout: float = 60.0):
        """Poll a JavaScript expression until it is truthy; its value."""
        script = f"""new Promise((resolve, reject) => {{
            const start = Date.now();
            (function poll() {{
                let value;
                try {{ value = ({condition}); }} catch (error) {{ value = undefined; }}
                if (value) resolve(value);
                else if (Date.now() - start > {int(timeout * 1000)}) reject(new Error("timed out: {condition}"));
                else setTimeout(poll, 50);
            }})();
        }})"""
        return self.evaluate(script, timeout=timeout + 10)

    def screenshot(self) -> np.ndarray:
        """The page as uint8 [H, W, 3]."""
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            return np.asarray(image.convert("RGB"))

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                try:
                    self.call("Browser.close", timeout=10)
                except (BrowserError, OSError):
                    pass
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)


def screenshot_page(url: str, path: str, width: int = 1280, height: int = 800, timeout: float = 120.0) -> str:
    """Wait for the explorer at `url` to answer and render, and save a screenshot of it (README figure)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=10).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    browser = Browser(find_chromium(), width=width, height=height)
    try:
        browser.navigate(url)
        browser.wait_for("document.body.dataset.state === 'error' || (Number(document.body.dataset.renders) > 0 "
                         "&& document.body.dataset.pending === '0')", timeout=timeout)
        Image.fromarray(browser.screenshot()).save(path, optimize=True)
    finally:
        browser.close()
    return path


if __name__ == "__main__":
    import sys

    # python tests/headless_browser.py URL OUT.png [WIDTH HEIGHT]
    print(screenshot_page(sys.argv[1], sys.argv[2], *(int(v) for v in sys.argv[3:5])))
