#!/usr/bin/env python
"""Real-browser test of the widget explorer: JupyterLab + Chromium (Playwright) run the explorer tutorial,
move a slider, and check that the rendered image changed. Screenshots go to `--shots` (default ci_shots/).

Needs Debian `chromium` (/usr/bin/chromium) and pip `playwright`. Run by hand: `.venv/bin/python .ci/browser_test.py`."""
import argparse, json, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_lab(work: Path, port: int, token: str) -> subprocess.Popen:
    "JupyterLab on 127.0.0.1 serving `work`, with news and update checks off (settings override)."
    settings = work/'.lab-settings'/'@jupyterlab'/'apputils-extension'
    settings.mkdir(parents=True)
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={work}',
           f'--LabApp.user_settings_dir={work/".lab-settings"}', f'--LabApp.workspaces_dir={work/".lab-workspaces"}']
    log = open(work/'lab.log', 'w')
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, 'IN_TEST': ''})

def wait_http(url: str, timeout: float = 60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try: urllib.request.urlopen(url, timeout=2); return
        except Exception: time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer at {url} within {timeout} s")

def run(shots: Path, chromium: str, timeout_ms: int = 180_000) -> dict:
    from playwright.sync_api import sync_playwright
    shots.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='drg-browser-'))
    shutil.copy(ROOT/'nbs'/'tutorials'/'explore.ipynb', work/'explore.ipynb')
    port, token = free_port(), secrets.token_hex(16)
    lab = start_lab(work, port, token)
    try:
        wait_http(f'http://127.0.0.1:{port}/api/status?token={token}')
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=['--no-sandbox', '--disable-gpu'])
            page = browser.new_page(viewport={'width': 1500, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/lab/tree/explore.ipynb?token={token}')
            page.wait_for_selector('.jp-Notebook', timeout=timeout_ms)
            # the kernel must be connected and idle before Run All, else JupyterLab runs nothing; retry Run All if no image comes
            page.locator('.jp-StatusBar-TextItem', has_text='Idle').first.wait_for(timeout=timeout_ms)
            img = page.locator('img.drg-image').first
            for attempt in range(3):
                page.click('.lm-MenuBar-itemLabel:text-is("Run")')
                page.click("[data-command='runmenu:run-all']")
                try: img.wait_for(timeout=timeout_ms // 3); break
                except Exception:
                    page.screenshot(path=str(shots/f'failure_{attempt}.png'))
                    if attempt == 2: raise
                    page.keyboard.press('Escape')
            page.wait_for_function("() => { const i = document.querySelector('img.drg-image'); return i && i.complete && i.naturalWidth > 0 }",
                                   timeout=timeout_ms)
            idle = page.locator('.jp-StatusBar-TextItem', has_text='Idle').first
            idle.wait_for(timeout=timeout_ms)                   # Run All done: no later cell redraws the image
            img.scroll_into_view_if_needed()
            src0 = img.get_attribute('src'); before = img.screenshot(path=str(shots/'before.png'))
            page.screenshot(path=str(shots/'lab_before.png'))
            readout = page.locator('.drg-slider-se-particle .widget-readout').first
            readout.click(); page.keyboard.press('Control+A'); page.keyboard.type('0.95'); page.keyboard.press('Enter')
            page.wait_for_function("(s) => { const i = document.querySelector('img.drg-image'); return i && i.src !== s && i.complete }",
                                   arg=src0, timeout=timeout_ms)
            idle.wait_for(timeout=timeout_ms)                   # the slider's render is done
            time.sleep(0.5)
            after = img.screenshot(path=str(shots/'after.png'))
            page.screenshot(path=str(shots/'lab_after.png'))
            browser.close()
        if before == after: raise AssertionError("the explorer image did not change after moving the slider")
        return {'changed': True, 'before_bytes': len(before), 'after_bytes': len(after), 'shots': str(shots)}
    finally:
        try: os.killpg(lab.pid, signal.SIGTERM); lab.wait(20)
        except Exception:
            try: os.killpg(lab.pid, signal.SIGKILL)
            except ProcessLookupError: pass
        log = (work/'lab.log').read_text() if (work/'lab.log').exists() else ''
        shutil.rmtree(work, ignore_errors=True)
        if lab.returncode not in (0, -15, 143, None) and 'Traceback' in log: print(log[-3000:], file=sys.stderr)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--shots', default=str(ROOT/'ci_shots')); ap.add_argument('--chromium', default='/usr/bin/chromium')
    a = ap.parse_args()
    t0 = time.time(); r = run(Path(a.shots), a.chromium)
    print(f"browser test passed in {time.time() - t0:.0f} s: {r}")
