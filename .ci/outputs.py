#!/usr/bin/env python
"""The notebooks' stored outputs: what the docs pages show, since `nbdev_docs` does not execute cells.

    python .ci/outputs.py --write [NOTEBOOK ...]   execute notebooks and store their outputs (default: all)
    python .ci/outputs.py --write --full NOTEBOOK  the same at full size (without IN_TEST: tutorials' real runs)
    python .ci/outputs.py --write --full --bam NB  also the cells flagged `bam`, where the BAM images are
    python .ci/outputs.py --check                  CI: every cell that shows something has its output stored

Cells flagged `slow`, `cuda` or `bam`, or `eval: false`, are not executed: long experiments, a GPU, and the licensed
BAM images (their pixels must never be stored). Such cells keep whatever was stored before; `--check` lists them.
A cell whose first comment line starts with `# Figure not stored` (it shows licensed pixels) runs but keeps no figure
(its printed text is kept), and `--check` fails if one has a figure.
`--bam` runs the `bam` cells too: only for pages whose outputs show numbers and synthetic images, never BAM pixels.
Figures are stored as plain PNG (not retina); progress bars and other stderr text are dropped.
"""

import argparse
import ast
import base64
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
SKIP = {'slow', 'cuda', 'bam'}  # cells not executed when storing outputs
MAX_NOTEBOOK_BYTES = 1_500_000  # a page stays light
MAX_IMAGE_BYTES = 250_000  # one figure
NOT_STORED = '# Figure not stored'  # a cell that shows licensed pixels: executed, its output never stored


def notebooks(names=None) -> list:
    "The notebooks a reader sees: every notebook under nbs/ except those whose name starts with `_`."
    if names:
        return [Path(n).resolve() for n in names]
    return sorted(p for p in NBS.rglob('*.ipynb') if not p.name.startswith('_') and '.ipynb_checkpoints' not in p.parts)


def directives(source: str) -> dict:
    "The cell's `#| key value` lines (at its top), as key -> words."
    found = {}
    for line in source.splitlines():
        m = re.match(r'^#\|\s*([\w-]+:?)\s*(.*)$', line.strip())
        if not m:
            break
        found[m.group(1)] = m.group(2).split()
    return found


def skipped(source: str, run: frozenset = frozenset()) -> bool:
    "Not executed when storing outputs (nor by the tests without the matching flag); `run`: flags executed anyway."
    d = directives(source)
    return bool((SKIP - run) & d.keys()) or d.get('eval:', [''])[0].lower() == 'false' or 'nbdev_export(' in source


def not_stored(source: str) -> bool:
    "Whether the cell shows licensed pixels, so that its output must never be stored."
    return body(source).lstrip().startswith(NOT_STORED)


def body(source: str) -> str:
    "The source without its directive lines and magics."
    lines = [ln for ln in source.splitlines() if not ln.strip().startswith(('#|', '%', '!'))]
    return '\n'.join(lines)


SHOW_CALLS = {'print', 'display', 'imshow', 'plot', 'hist', 'show', 'subplots', 'figure', 'bar', 'scatter', 'matshow'}


def _calls_shown(node) -> bool:
    "Whether `node` calls something that shows output, outside function, class and lambda bodies."
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return False
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', '')
        if name in SHOW_CALLS or name.startswith('show_'):
            return True
    return any(_calls_shown(child) for child in ast.iter_child_nodes(node))


def shows(source: str) -> bool:
    "Whether executing the cell shows something: a figure, printed text, or the value of its last expression."
    d = directives(source)
    if 'export' in d or 'exporti' in d:
        return False
    code, tree = body(source), _tree(source)
    if tree is None or not tree.body:
        return False
    if any(_calls_shown(node) for node in tree.body):
        return True
    last = tree.body[-1]
    if not isinstance(last, ast.Expr) or code.rstrip().endswith(';'):
        return False
    # a last expression that is a value (a call may return None: it counts only through SHOW_CALLS above)
    return isinstance(last.value, (ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Dict, ast.BinOp))


def _tree(source: str):
    "The cell's parsed body, or None when it is not Python (a magic, a syntax error)."
    try:
        return ast.parse(body(source))
    except SyntaxError:
        return None


def _imports(source: str) -> bool:
    "Whether the cell has an import statement (nbdev's docs build executes such cells)."
    tree = _tree(source)
    return tree is not None and any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))


def _imports_and_code(source: str) -> bool:
    "A cell (not exported, not hidden) with imports and other statements, which nbdev warns about."
    d = directives(source)
    if d.keys() & {'export', 'exports', 'exporti', 'exec_doc', 'hide'} or 'nbdev_export(' in source:
        return False
    tree = _tree(source)
    return _imports(source) and any(isinstance(n, (ast.Expr, ast.Assign)) for n in ast.walk(tree))


def _figure(output: dict) -> bool:
    "Whether a stored output holds an image."
    return any(k.startswith('image/') for k in output.get('data', {}))


def _clean_outputs(outputs: list) -> list:
    "Outputs as stored: no stderr (progress bars), no empty streams."
    kept = []
    for o in outputs:
        if o.get('output_type') == 'stream' and o.get('name') == 'stderr':
            continue
        if o.get('output_type') == 'stream' and not ''.join(o.get('text', '')).strip():
            continue
        kept.append(o)
    return kept


def write(path: Path, full: bool = False, run: frozenset = frozenset()) -> float:
    """Execute `path` (skipping the flagged cells but those flagged with one of `run`; at reduced size unless `full`)
    and store its outputs; seconds taken."""
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.clean import clean_nb

    if full:
        os.environ.pop('IN_TEST', None)
    else:
        os.environ['IN_TEST'] = '1'
    nb = read_nb(path)
    shell = CaptureShell(path, mpl_format='png')
    t0 = time.perf_counter()
    with working_directory(path.parent):
        shell.run_all(nb, exc_stop=True, preproc=lambda cell: cell.cell_type != 'code' or skipped(cell.source, run))
    for cell in nb.cells:
        if cell.cell_type == 'code' and not skipped(cell.source, run):
            kept = _clean_outputs(cell.get('outputs', []))
            cell['outputs'] = [o for o in kept if not _figure(o)] if not_stored(cell.source) else kept
    clean_nb(nb)
    write_nb(nb, path)
    return time.perf_counter() - t0


def problems(path: Path) -> list:
    "What keeps the page of `path` from showing its results."
    import json

    nb = json.loads(path.read_text())
    found = []
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        found.append(f"{size / 1e6:.1f} MB (limit {MAX_NOTEBOOK_BYTES / 1e6:.1f} MB): make its figures smaller")
    ids = [cell.get('id') for cell in nb['cells']]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        found.append(f"cell ids {twice[:5]} appear more than once: a cell was inserted twice")
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] != 'code':
            continue
        source = ''.join(cell['source'])
        if _imports_and_code(source):
            found.append(
                f"cell {i} imports and does more: nbdev's docs build runs every cell that imports, out of context; put "
                "the imports in a cell of their own"
            )
        elif SKIP & directives(source).keys() and _imports(source):
            found.append(
                f"cell {i} is flagged {sorted(SKIP & directives(source).keys())} but imports: nbdev's docs build runs "
                "every cell that imports, flags or not; move the import to an unflagged cell"
            )
        outputs = cell.get('outputs', [])
        if not_stored(source) and any(_figure(o) for o in outputs):
            found.append(f"cell {i} says {NOT_STORED!r} but has a stored figure: clear it")
        for o in outputs:
            png_size = len(base64.b64decode(o.get('data', {}).get('image/png', '')))
            if png_size > MAX_IMAGE_BYTES:
                found.append(f"cell {i}: a {png_size // 1000} kB figure (limit {MAX_IMAGE_BYTES // 1000} kB)")
            if o.get('output_type') == 'error':
                found.append(f"cell {i}: a stored error")
        if not skipped(source) and not not_stored(source) and shows(source) and not outputs:
            first = body(source).strip().splitlines()[0][:60] if body(source).strip() else ''
            found.append(f"cell {i} ({first!r}) shows something but has no stored output")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--write', action='store_true', help='execute notebooks and store their outputs')
    mode.add_argument('--check', action='store_true', help='check that the stored outputs are there')
    parser.add_argument('--full', action='store_true', help='--write at full size: no IN_TEST (minutes to hours)')
    parser.add_argument(
        '--bam',
        action='store_true',
        help="--write also runs the cells flagged `bam` (where the data is): their outputs must show no BAM pixels",
    )
    parser.add_argument('notebooks', nargs='*', help='notebooks (default: every notebook a reader sees)')
    args = parser.parse_args()
    paths = notebooks(args.notebooks)
    if args.write:
        failed = []
        for p in paths:
            try:
                seconds = write(p, args.full, frozenset({'bam'} if args.bam else ()))
                print(f"{p.relative_to(ROOT)}: {seconds:.0f} s", flush=True)
            except Exception as e:  # the notebook is left as it was; go on with the others
                failed.append(p)
                print(f"{p.relative_to(ROOT)}: failed ({type(e).__name__}: {e})", flush=True)
        if failed:
            sys.exit(f"{len(failed)} notebooks failed: {', '.join(str(p.relative_to(ROOT)) for p in failed)}")
        return
    bad = {p: problems(p) for p in paths}
    bad = {p: v for p, v in bad.items() if v}
    for p, found in bad.items():
        for line in found:
            print(f"{p.relative_to(ROOT)}: {line}")
    if bad:
        sys.exit("stored outputs missing or too large: run `python .ci/outputs.py --write NOTEBOOK` and commit it")
    print(f"stored outputs: {len(paths)} notebooks checked")


if __name__ == '__main__':
    main()
