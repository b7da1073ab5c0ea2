"""Security: no network, no remote code, no pickles, no unsafe YAML, no path escapes."""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path

import pytest

import framing
from framing.text.catalogue import load_catalogue
from framing.cli import main
from framing.errors import CatalogueError, ModelLoadError
from framing.evaluation.suite import SuiteError, load_suite

from .test_faults import COMPONENTS, build_model_dirs, load

PACKAGE = Path(framing.__file__).parent


# -- no network ----------------------------------------------------------------------------
def test_whole_pipeline_runs_with_sockets_blocked(no_network, tiny_model_dir, tmp_path):
    """Build, score, score a corpus to shards, evaluate, compare, report: no connection."""
    an = framing.Analyzer(tiny_model_dir, tone="similarity")
    texts = ["The council approved the bridge.", "Critics condemned the costly plan.",
             "Both sides hailed a win-win deal.", "Die Regierung hat entschieden."]
    assert len(an.score_many(texts)) == 4
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": texts[i % 4] + f" {i}",
                                       "outlet": "ab"[i % 2]}) + "\n" for i in range(16)))
    out = tmp_path / "scores"
    framing.score_corpus(src, out, analyzer=an, id="id", outlet="outlet", shard_size=5,
                         progress=False)
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in
                               zip(texts, ["neutral", "critical", "promotional", "neutral"])))
    rep = framing.evaluate(an, samples, task="tone", id=None, n_boot=20)
    rep.to_markdown()
    cmp = framing.compare_outlets(out, by="outlet", n_boot=20, n_permutations=19)
    html = cmp.to_html()
    assert "<html" in html.lower()
    # a report that needs the network would fetch scripts or styles from elsewhere
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?://""", html)
    assert main(["score", str(src), "-o", str(tmp_path / "cli.parquet"), "--model",
                 str(tiny_model_dir), "--tone", "similarity", "--no-progress"]) == 0
    assert main(["compare", str(out), "--n-boot", "20", "--n-permutations", "19",
                 "--html", str(tmp_path / "r.html")]) == 0
    assert len(no_network) == 0, f"network was attempted: {no_network.calls}"


def test_hub_ids_are_refused_offline_without_a_connection(no_network):
    for make in (lambda: framing.Encoder("some-org/some-model"),
                 lambda: framing.Analyzer("some-org/some-model")):
        with pytest.raises(framing.errors.ModelNotFoundError, match="allow_network"):
            make()
    assert len(no_network) == 0


# -- no remote code ------------------------------------------------------------------------
def test_no_trust_remote_code_true_in_the_package():
    hits = []
    for path in PACKAGE.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".yaml", ".json", ".cfg", ".txt", ".md"):
            text = path.read_text(encoding="utf-8", errors="replace")
            if re.search(r"trust_remote_code\s*[=:]\s*(True|true|1)", text) or \
                    re.search(r"""["']trust_remote_code["']\s*:\s*(True|true)""", text):
                hits.append(str(path))
    assert hits == []


def test_loaders_never_trust_remote_code(tiny_model_dir, tmp_path, monkeypatch):
    """Record every from_pretrained call: trust_remote_code is False or absent (False)."""
    import transformers

    dirs = build_model_dirs(tmp_path, tiny_model_dir)
    seen = []
    for cls in (transformers.AutoModel, transformers.AutoTokenizer,
                transformers.AutoModelForSequenceClassification, transformers.AutoConfig):
        real = cls.from_pretrained.__func__

        def spy(klass, *args, _real=real, _name=cls.__name__, **kwargs):
            seen.append((_name, kwargs.get("trust_remote_code", False)))
            return _real(klass, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    from framing.heads.tone.hf import NLIZeroShotTone

    load("encoder", dirs["encoder"])
    load("hf-classifier", dirs["hf-classifier"])
    with pytest.raises((ModelLoadError, ValueError)):  # not an NLI model, but loaded safely
        NLIZeroShotTone(dirs["hf-classifier"])
    assert {n for n, _ in seen} >= {"AutoModel", "AutoTokenizer",
                                    "AutoModelForSequenceClassification"}
    # framing passes False (or nothing: False is the default); transformers' own nested
    # AutoConfig call passes None, which refuses remote code when not asked interactively
    assert not any(flag is True for _, flag in seen), seen


def test_custom_code_in_a_model_dir_is_never_imported(tiny_model_dir, tmp_path):
    """A config whose auto_map points at a module in the directory: that code never runs."""
    marker = tmp_path / "remote-code-ran"
    d = tmp_path / "evil-model"
    shutil.copytree(tiny_model_dir, d)
    (d / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                               "from transformers import BertModel as EvilModel\n")
    cfg = json.loads((d / "config.json").read_text())
    cfg["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoConfig": "evil.EvilConfig"}
    (d / "config.json").write_text(json.dumps(cfg))
    try:
        enc = framing.Encoder(d)
        assert type(enc.model).__name__ == "BertModel"
    except ModelLoadError:
        pass  # refusing the directory is fine too
    assert not marker.exists()


# -- no pickles ----------------------------------------------------------------------------
class _Booby:
    """Unpickling this creates a marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


PICKLE_NAMES = ["pytorch_model.bin", "model.pt", "model.pkl", "model.bin"]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory, tiny_model_dir):
    return build_model_dirs(tmp_path_factory.mktemp("models"), tiny_model_dir)


@pytest.mark.parametrize("component", COMPONENTS)
def test_pickle_only_directory_is_refused_and_never_unpickled(model_dirs, tmp_path, component):
    marker = tmp_path / "pickle-ran"
    d = tmp_path / component
    shutil.copytree(model_dirs[component], d)
    (d / "model.safetensors").unlink()
    payload = pickle.dumps({"weight": _Booby(marker)})
    for name in PICKLE_NAMES:
        (d / name).write_bytes(payload)
    with pytest.raises(ModelLoadError, match="safetensors") as info:
        load(component, d)
    assert d.name in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("component", COMPONENTS)
def test_pickle_under_the_safetensors_name_is_never_unpickled(model_dirs, tmp_path, component):
    marker = tmp_path / "pickle-ran"
    d = tmp_path / component
    shutil.copytree(model_dirs[component], d)
    (d / "model.safetensors").write_bytes(pickle.dumps({"weight": _Booby(marker)}))
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load(component, d)
    assert not marker.exists()


@pytest.mark.parametrize("component", ["encoder", "tone-model", "cue-heads", "frame-heads"])
def test_analyzer_refuses_pickle_only_dirs(model_dirs, tmp_path, tiny_model_dir, component):
    marker = tmp_path / "pickle-ran"
    d = tmp_path / component
    shutil.copytree(model_dirs[component], d)
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(pickle.dumps(_Booby(marker)))
    kwargs = {"encoder": dict(model=d), "tone-model": dict(model=tiny_model_dir, tone=str(d)),
              "cue-heads": dict(model=tiny_model_dir, tone=None, cue_heads=d),
              "frame-heads": dict(model=tiny_model_dir, tone=None, cues=False, frames=[str(d)])}
    with pytest.raises(ModelLoadError):
        framing.Analyzer(**kwargs[component])
    assert not marker.exists()


# -- YAML only through safe_load -----------------------------------------------------------
EVIL_YAML = {
    "apply-os-system": "!!python/object/apply:os.system ['touch {marker}']\n",
    "apply-in-a-field": ("name: x\ncues:\n- id: a\n  name: !!python/object/apply:os.system "
                         "['touch {marker}']\n  description: d\n  exemplars: [e]\n"),
    "python-object-new": ("!!python/object/new:subprocess.Popen [['touch', '{marker}']]\n"),
    "python-name": "name: !!python/name:os.system\ncues: []\n",
    "python-module": "name: !!python/module:os\ncues: []\n",
}


@pytest.mark.parametrize("case", list(EVIL_YAML), ids=list(EVIL_YAML))
def test_catalogue_python_tags_are_refused_and_run_nothing(tmp_path, case):
    marker = tmp_path / "yaml-ran"
    path = tmp_path / "cat.yaml"
    path.write_text(EVIL_YAML[case].format(marker=marker))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("case", list(EVIL_YAML), ids=list(EVIL_YAML))
def test_suite_python_tags_are_refused_and_run_nothing(tmp_path, case):
    marker = tmp_path / "yaml-ran"
    path = tmp_path / "suite.yaml"
    path.write_text(EVIL_YAML[case].format(marker=marker))
    with pytest.raises(SuiteError):
        load_suite(path)
    assert not marker.exists()


def test_python_tag_in_cue_heads_catalogue_copy(model_dirs, tmp_path, tiny_model_dir):
    marker = tmp_path / "yaml-ran"
    d = tmp_path / "heads"
    shutil.copytree(model_dirs["cue-heads"], d)
    (d / "catalogue.yaml").write_text(EVIL_YAML["apply-os-system"].format(marker=marker))
    with pytest.raises(CatalogueError, match="catalogue.yaml"):
        framing.Analyzer(tiny_model_dir, tone=None, cue_heads=d)
    assert not marker.exists()


def test_no_unsafe_yaml_or_pickle_calls_in_the_package():
    bad = re.compile(r"yaml\.(load|unsafe_load|full_load)\(|yaml\.Loader|pickle\.loads?\(|"
                     r"torch\.load\(|joblib\.load\(|np\.load\([^)]*allow_pickle\s*=\s*True|"
                     r"(?<![\w.])eval\(|(?<![\w.])exec\(")
    hits = [f"{p.relative_to(PACKAGE)}:{i}" for p in PACKAGE.rglob("*.py")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if bad.search(line) and not line.lstrip().startswith("#")]
    assert hits == []


# -- config paths stay inside their root ---------------------------------------------------
def _suite(tmp_path: Path, **over) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "s.jsonl").write_text('{"text": "a", "label": "neutral"}\n')
    fields = {"root": ".", "output": "results",
              "datasets": "{d: {path: data/s.jsonl, task: tone}}",
              "scorers": "{a: {tone: vader}}", "runs": "[{dataset: d}]", **over}
    path = tmp_path / "suite.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in fields.items()))
    return path


@pytest.mark.parametrize("field, value", [
    ("datasets", "{d: {path: ../outside.jsonl, task: tone}}"),
    ("datasets", "{d: {path: /etc/passwd, task: tone}}"),
    ("datasets", "{d: {path: data/../../outside.jsonl, task: tone}}"),
    ("datasets", "{d: {path: link/s.jsonl, task: tone}}"),
    ("output", "../elsewhere"),
    ("output", "/tmp/elsewhere"),
    ("output", "link/results"),
], ids=["dataset-parent", "dataset-absolute", "dataset-dotdot-inside", "dataset-symlink-out",
        "output-parent", "output-absolute", "output-symlink-out"])
def test_suite_paths_cannot_leave_the_root(tmp_path, field, value):
    root = tmp_path / "suite"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SuiteError, match="leaves the suite root"):
        load_suite(_suite(root, **{field: value}))


def test_suite_scorer_catalogue_cannot_leave_the_root(tmp_path, monkeypatch):
    root = tmp_path / "suite"
    root.mkdir()
    (tmp_path / "cat.yaml").write_text("name: x\n")
    path = _suite(root, scorers="{a: {tone: null, cues: patterns, catalogue: ../cat.yaml}}")
    import framing.evaluation.suite as suite

    monkeypatch.setattr(suite, "Encoder", lambda *a, **k: None)  # no model needed
    with pytest.raises(SuiteError, match="leaves the suite root"):
        suite.run_suite(path, output=tmp_path / "out")


def test_suite_paths_inside_the_root_are_accepted(tmp_path):
    data = load_suite(_suite(tmp_path))
    assert data["datasets"]["d"]["_path"] == (tmp_path / "data" / "s.jsonl").resolve()
