"""`unlearn-approx` (run an approximate unlearning method on a saved model) and `methods` (list them)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tqdm import tqdm

from erasure_engine.cli.loading_options import lm_loading_options, loading_arguments
from erasure_engine.cli.selection import forget_selection_arguments
from erasure_engine.datasets import DatasetStore
from erasure_engine.datasets.jsonl import decode_records
from erasure_engine.errors import InvalidInput, ObjectNotFound
from erasure_engine.records import Record
from erasure_engine.storage import object_store_from_url

# torch and transformers load inside the handlers: `erasure-engine --help` and the light
# commands should not pay for them.


def register(subparsers) -> None:
    run = subparsers.add_parser(
        "unlearn-approx",
        help="make a saved model forget records with an approximate method",
        description="Forget/retain records come from JSONL files (one record per line) or from a stored "
        "dataset version: the records selected by --record-id/--subject-key are forgotten, "
        "the rest retained.",
    )
    run.add_argument("--method", required=True, help="method name (see `methods`)")
    run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="method parameter (repeatable)")
    run.add_argument(
        "--model", required=True, help="model directory or s3://bucket/prefix (save_pretrained layout, safetensors)"
    )
    run.add_argument("--tokenizer", help="tokenizer directory (default: the model directory, for language models)")
    run.add_argument("--forget", help="JSONL file of records to forget")
    run.add_argument("--retain", help="JSONL file of records to keep")
    run.add_argument("--store", help="object store holding the dataset: a folder, file:///path or s3://bucket/prefix")
    run.add_argument("--endpoint-url", help="S3 endpoint (MinIO, Ceph, moto)")
    run.add_argument("--dataset", help="dataset name in --store")
    run.add_argument("--version", help="dataset version (default: latest)")
    forget_selection_arguments(run)
    run.add_argument("--seed", type=int, default=0)
    loading_arguments(run)
    run.add_argument("--output", required=True, help="output directory: model/ (+ adapter/) and the result JSON")
    run.set_defaults(handler=handle_unlearn)

    methods = subparsers.add_parser("methods", help="list the approximate unlearning methods and their parameters")
    methods.add_argument("--json", action="store_true", help="machine-readable output")
    methods.set_defaults(handler=handle_methods)


def parse_params(method: str, pairs: list[str]) -> dict:
    """`key=value` strings typed by the method's declared parameters."""
    from erasure_engine.unlearning import get_method

    specs = {spec.name: spec for spec in get_method(method).params}
    params = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator:
            raise InvalidInput(f"--param {pair!r} must look like key=value")
        if key not in specs:
            raise InvalidInput(f"unknown parameter {key!r} for method {method!r}; known: {', '.join(sorted(specs))}")
        params[key] = specs[key].parse(text, method)
    return params


def read_jsonl(path: str) -> list[Record]:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ObjectNotFound(f"no records file {path}") from None
    return decode_records(data, source=path)


def select_records(args) -> tuple[list[Record], list[Record]]:
    if args.store or args.dataset:
        if args.forget or args.retain:
            raise InvalidInput("give records either as --forget/--retain files or as --store/--dataset, not both")
        if not (args.store and args.dataset):
            raise InvalidInput("a stored dataset needs both --store and --dataset")
        datasets = DatasetStore(object_store_from_url(args.store, endpoint_url=args.endpoint_url), args.dataset)
        version = datasets.load_version(args.version) if args.version else datasets.latest()
        ids, keys = set(args.record_id), set(args.subject_key)
        if not (ids or keys):
            raise InvalidInput("select records to forget with --record-id or --subject-key")
        records = version.records()
        forget = [r for r in records if r.record_id in ids or r.subject_key in keys]
        missing = ids - {r.record_id for r in forget}
        if missing:
            raise InvalidInput(f"record id(s) not in {args.dataset} {version.version_id}: {', '.join(sorted(missing))}")
        return forget, [r for r in records if not (r.record_id in ids or r.subject_key in keys)]
    if not args.forget:
        raise InvalidInput("give the records to forget: --forget FILE, or --store/--dataset with a selection")
    return read_jsonl(args.forget), read_jsonl(args.retain) if args.retain else []


def handle_unlearn(args) -> int:
    from erasure_engine.models import load_tokenizer
    from erasure_engine.models.loading import load_saved_model
    from erasure_engine.models.tokenizer import has_tokenizer
    from erasure_engine.storage import local_directory
    from erasure_engine.unlearning import unlearn

    params = parse_params(args.method, args.param)
    forget, retain = select_records(args)
    with tempfile.TemporaryDirectory(prefix="unlearn-approx-") as scratch:
        model_dir = local_directory(args.model, Path(scratch), endpoint_url=args.endpoint_url)
        options = lm_loading_options(args, model_dir, job=args.method, batch_size=params.get("batch_size"))
        model = load_saved_model(model_dir, **options)
        tokenizer = None
        tokenizer_dir = Path(args.tokenizer) if args.tokenizer else model_dir
        if args.tokenizer or has_tokenizer(tokenizer_dir):
            tokenizer = load_tokenizer(tokenizer_dir)
    with tqdm(total=100, desc=args.method, unit="%", leave=False) as bar:

        def progress(fraction: float, message: str) -> None:
            bar.set_postfix_str(message, refresh=False)
            bar.update(round(fraction * 100) - bar.n)

        result = unlearn(
            args.method,
            model,
            forget=forget,
            retain=retain,
            tokenizer=tokenizer,
            params=params,
            seed=args.seed,
            progress=progress,
        )
    output = result.save(args.output)
    if tokenizer is not None:
        tokenizer.save_pretrained(output / "model")  # the candidate directory loads on its own
    print(
        json.dumps(
            {
                "output": str(output),
                **{k: v for k, v in result.to_json().items() if k != "log"},
                "forget_records": len(forget),
                "retain_records": len(retain),
                "final": result.log[-1] if result.log else None,
            },
            indent=2,
            sort_keys=True,
        )
    )
    return 0


def handle_methods(args) -> int:
    from erasure_engine.unlearning import available_methods

    methods = [spec.to_json() for spec in available_methods().values()]
    if args.json:
        print(json.dumps(methods, indent=2, sort_keys=True))
        return 0
    for method in methods:
        print(f"{method['name']}: {method['summary']}")
        for param in method["params"]:
            print(f"  {param['name']} ({param['type']}, default {param['default']!r}): {param['help']}")
    return 0
