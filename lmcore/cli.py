"""The book's command line: ``python -m lmcore.cli COMMAND`` (also installed as ``lmcore``).

    lmcore execute chapters/*.ipynb          re-execute notebooks in place, outputs stored
    lmcore student-edition --out DIR NB...   write the student edition (solutions removed)
    lmcore grade SUBMISSIONS --out DIR       grade a folder of submitted notebooks (each in a
                                             bubblewrap sandbox; see the instructor guide)
    lmcore serve --model FOLDER [--port N]   the OpenAI-compatible service (chapter 12)

``python -m lmcore COMMAND`` works too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _notebooks(paths: list[str]) -> list[Path]:
    """The notebooks named by ``paths`` (files or folders); a clear exit message otherwise."""
    from lmcore.classroom import _notebooks as find_notebooks
    try:
        found = find_notebooks(paths)
    except FileNotFoundError as error:
        raise SystemExit(f"lmcore: {error}") from None
    if not found:
        raise SystemExit(f"lmcore: no notebooks found in {paths}.")
    return found


# The book's kernel, installed by the set-up (Makefile):
#   python -m ipykernel install --sys-prefix --name lmbook --display-name "Python (lmbook)"
KERNELSPEC = {"name": "lmbook", "display_name": "Python (lmbook)", "language": "python"}


def _kernel_name() -> str:
    """The book's kernel if the set-up installed it, else the environment's python3 (the
    same interpreter either way)."""
    from jupyter_client.kernelspec import KernelSpecManager
    specs = KernelSpecManager().find_kernel_specs()
    return KERNELSPEC["name"] if KERNELSPEC["name"] in specs else "python3"


def execute_notebook(path: Path, timeout: int = 600) -> None:
    """Run ``path`` top to bottom in a fresh kernel (from its own folder) and store the outputs.

    The stored notebook names the book's kernel (``KERNELSPEC``) with the ``language_info``
    the kernel reported, so JupyterLab opens it without guessing a kernel or marking it
    modified; it stores no widget state, and its widget outputs are emptied
    (:func:`lmcore.viz._live.forget_widget_views`), so JupyterLab shows the notice and
    picture displayed before each widget instead of "model not found".
    """
    import nbformat
    from nbclient import NotebookClient

    from lmcore.viz._live import forget_widget_views

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name=_kernel_name(),
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=False)
    client.execute()
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    forget_widget_views(notebook)
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lmcore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("execute", help="re-execute notebooks in place")
    run.add_argument("notebooks", nargs="+")
    run.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    student = commands.add_parser(
        "student-edition", help="write the student edition (solutions and answers removed)")
    student.add_argument("notebooks", nargs="+", help="master notebooks or folders of them")
    student.add_argument("--out", required=True, help="folder for the student notebooks")
    grading = commands.add_parser(
        "grade", help="grade a folder of submitted notebooks into a CSV and feedback files")
    grading.add_argument("submissions", help="folder of submissions: STUDENT/NOTEBOOK.ipynb "
                         "(or STUDENT.ipynb)")
    grading.add_argument("--out", required=True, help="folder for grades.csv, summary.csv, "
                         "feedback/")
    grading.add_argument("--master", default="chapters",
                         help="folder of master notebooks (default: chapters)")
    grading.add_argument("--timeout", type=float, default=120,
                         help="seconds each cell, and each exercise's check, may take (default 120)")
    grading.add_argument("--memory", type=int, default=4096, metavar="MB",
                         help="address-space limit of each student's process (default 4096 MB)")
    grading.add_argument("--unsafe-no-sandbox", action="store_true",
                         help="grade even where bubblewrap (bwrap) is unavailable: student code "
                         "then runs with your user's access to your files (read the instructor "
                         "guide first)")
    serving = commands.add_parser(
        "serve", help="serve a GPT folder (completions, chat) and MiniLM (embeddings) with "
        "the OpenAI API's shapes")
    serving.add_argument("--model", required=True, metavar="FOLDER",
                         help="a GPT-2-layout checkpoint folder (config.json + "
                         "model.safetensors)")
    serving.add_argument("--model-name", metavar="NAME",
                         help="the model id clients use (default: the folder's name)")
    serving.add_argument("--host", default="127.0.0.1", help="address to listen on "
                         "(default 127.0.0.1: this machine only)")
    serving.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serving.add_argument("--api-key", action="append", default=[], metavar="KEY",
                         help="require this key (Authorization: Bearer KEY); repeat for "
                         "several keys; also read from LMCORE_API_KEYS (comma-separated)")
    serving.add_argument("--tokens-per-minute", type=int, metavar="N",
                         help="quota of prompt + completion tokens per key per minute")
    serving.add_argument("--max-batch-size", type=int, default=16, metavar="N",
                         help="requests decoded together (1 = no batching; default 16)")
    serving.add_argument("--threads", type=int, metavar="N",
                         help="CPU threads torch may use (default: torch's own choice)")
    serving.add_argument("--classifier", metavar="FOLDER",
                         help="a BertForSequenceClassification-layout folder served on "
                         "/v1/classifications")
    serving.add_argument("--classifier-name", metavar="NAME",
                         help="its model id (default: the folder's name)")
    serving.add_argument("--no-embeddings", action="store_true",
                         help="do not load MiniLM for /v1/embeddings")
    serving.add_argument("--exit-with-parent", type=int, metavar="PID",
                         help="stop when process PID (this server's parent) exits; "
                         "start_server sets it so a server never outlives its notebook")
    serving.add_argument("--log-level", default="info",
                         choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)

    if args.command == "execute":
        import time
        for path in _notebooks(args.notebooks):
            start = time.perf_counter()
            execute_notebook(path, timeout=args.timeout)
            print(f"executed {path} in {time.perf_counter() - start:.1f} s")
    elif args.command == "student-edition":
        from lmcore.classroom import WouldOverwriteMaster, write_student_edition
        notebooks = _notebooks(args.notebooks)
        try:
            written = write_student_edition(notebooks, args.out)
        except WouldOverwriteMaster as error:
            raise SystemExit(f"lmcore student-edition: {error}") from None
        for path in written:
            print(f"wrote {path}")
    elif args.command == "grade":
        from lmcore.classroom import SandboxUnavailable, grade
        submissions = Path(args.submissions)
        if not submissions.is_dir():
            raise SystemExit(f"lmcore grade: {args.submissions!r} is not a folder of submissions.")
        if not Path(args.master).is_dir():
            raise SystemExit(f"lmcore grade: --master {args.master!r} is not a folder of master "
                             "notebooks (the chapters/ folder of the book).")
        if not args.timeout > 0:
            raise SystemExit(f"lmcore grade: --timeout must be > 0 seconds, got {args.timeout}.")
        if args.memory < 256:
            raise SystemExit(f"lmcore grade: --memory must be at least 256 MB, got {args.memory}.")
        try:
            grades = grade(submissions, args.out, master=args.master, timeout=args.timeout,
                           memory_mb=args.memory, unsafe=args.unsafe_no_sandbox)
        except SandboxUnavailable as error:
            raise SystemExit(f"lmcore grade: {error}") from None
        print(f"graded {len({(g.student, g.notebook) for g in grades})} notebooks: "
              f"{Path(args.out) / 'grades.csv'}")
    elif args.command == "serve":
        _serve(args)
    return 0


def _serve(args: argparse.Namespace) -> None:
    """``lmcore serve``: check the arguments, then run the service until SIGTERM/SIGINT."""
    import os
    model = Path(args.model)
    if not (model / "config.json").is_file() or not (model / "model.safetensors").is_file():
        raise SystemExit(f"lmcore serve: --model {args.model!r} must be a checkpoint folder "
                         "with config.json and model.safetensors.")
    if args.classifier and not Path(args.classifier).is_dir():
        raise SystemExit(f"lmcore serve: --classifier {args.classifier!r} is not a folder.")
    if not 0 <= args.port <= 65535:
        raise SystemExit(f"lmcore serve: --port must be 0..65535, got {args.port}.")
    if args.max_batch_size < 1:
        raise SystemExit(f"lmcore serve: --max-batch-size must be >= 1, got "
                         f"{args.max_batch_size}.")
    if args.tokens_per_minute is not None and args.tokens_per_minute < 1:
        raise SystemExit(f"lmcore serve: --tokens-per-minute must be >= 1, got "
                         f"{args.tokens_per_minute}.")
    if args.threads is not None:
        if args.threads < 1:
            raise SystemExit(f"lmcore serve: --threads must be >= 1, got {args.threads}.")
        import torch
        torch.set_num_threads(args.threads)
    keys = list(args.api_key) + [k for k in os.environ.get("LMCORE_API_KEYS", "").split(",")
                                 if k.strip()]
    from lmcore.serve import ServiceConfig, run
    if args.exit_with_parent is not None:
        from lmcore.serve.server import exit_with_parent
        try:
            exit_with_parent(args.exit_with_parent)
        except ValueError as error:
            raise SystemExit(f"lmcore serve: --exit-with-parent: {error}") from None
    config = ServiceConfig(model_folder=str(model), model_name=args.model_name,
                           embeddings=not args.no_embeddings,
                           classifier_folder=args.classifier,
                           classifier_name=args.classifier_name,
                           api_keys=tuple(k.strip() for k in keys),
                           tokens_per_minute=args.tokens_per_minute,
                           max_batch_size=args.max_batch_size)
    run(config, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    sys.exit(main())
