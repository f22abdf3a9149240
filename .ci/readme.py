"""README.md is nbs/index.ipynb as Markdown (what nbdev_readme makes where quarto exists).
`python .ci/readme.py` rewrites README.md; `--check` fails when README.md is out of step."""
import configparser, json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def image_base() -> str:
    "Absolute URL of nbs/images/ on the default branch, so the README's images show on PyPI too."
    cfg = configparser.ConfigParser(); cfg.read(root / 'settings.ini')
    repo, branch = cfg['DEFAULT']['git_url'].rstrip('/'), cfg['DEFAULT']['branch']
    return repo.replace('https://github.com/', 'https://raw.githubusercontent.com/') + f'/{branch}/nbs/images/'

def render(nb_path=root / 'nbs' / 'index.ipynb') -> str:
    nb = json.loads(nb_path.read_text(encoding='utf-8')); out = []
    for c in nb['cells']:
        src = ''.join(c['source']).strip('\n')
        if not src or re.match(r'\s*#\|\s*(hide|exporti?)\b', src): continue
        if c['cell_type'] == 'markdown': out.append(re.sub(r'\]\(images/', '](' + image_base(), src))
        elif c['cell_type'] == 'code': out.append('```python\n' + src + '\n```')
    return '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    text, readme = render(), root / 'README.md'
    if '--check' in sys.argv:
        if readme.read_text(encoding='utf-8') != text:
            sys.exit("README.md is out of step with nbs/index.ipynb: run `python .ci/readme.py` and commit README.md")
        print("README.md matches nbs/index.ipynb")
    else: readme.write_text(text, encoding='utf-8'); print(f"wrote {readme}")
