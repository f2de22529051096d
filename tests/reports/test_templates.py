"""The report's Jinja2 templates: they ship with the package, they reference only each other,
and everything they write is escaped exactly once (no tracking store needed: the sections are
built from hand-made records)."""

from __future__ import annotations

import configparser
import fnmatch
import shutil
import subprocess
import sys
import warnings
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import jinja2.meta
import numpy as np
import pytest

from lightsaber.data.targets import make_survival_target
from lightsaber.reports import SECTIONS
from lightsaber.reports.fetch import ReportData, RunRecord, StudyRecord
from lightsaber.reports.figures import survival_curves_figure
from lightsaber.reports.html import template_environment
from lightsaber.reports.sections import build_sections
from tests.conftest import REPO

TEMPLATES = REPO / "lightsaber" / "reports" / "templates"
NASTY = 'evil <script>alert("x")</script> & co\'s'


def _shipped_patterns() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = cfg["options.package_data"]["lightsaber.reports.templates"].splitlines()
    return [line.strip() for line in lines if line.strip()]


def test_every_template_file_is_package_data():
    files = sorted(p.name for p in TEMPLATES.iterdir() if p.is_file() and p.suffix != ".py")
    assert "report.html.j2" in files
    shipped = [f for f in files if any(fnmatch.fnmatch(f, pat) for pat in _shipped_patterns())]
    assert shipped == files, "add the missing templates to [options.package_data] in setup.cfg"
    from setuptools import find_packages

    assert "lightsaber.reports.templates" in find_packages(str(REPO), include=["lightsaber.*"])


def test_templates_reference_only_existing_templates():
    env = template_environment()
    names = set(env.list_templates(extensions=["j2"]))
    assert {f"{s}.html.j2" for s in SECTIONS} | {"report.html.j2", "macros.html.j2"} <= names
    for name in names:
        source = env.loader.get_source(env, name)[0]
        referenced = set(jinja2.meta.find_referenced_templates(env.parse(source))) - {None}
        assert referenced <= names, (name, referenced - names)


@pytest.mark.slow
def test_built_wheel_holds_the_templates(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the files to build from")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "lightsaber",
                            "setup.cfg", "pyproject.toml", "README.md"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    src = tmp_path / "src"
    for name in files:
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("lightsaber-*.whl"))
    inside = {Path(n).name for n in zipfile.ZipFile(wheel).namelist()
              if n.startswith("lightsaber/reports/templates/")}
    expected = {p.name for p in TEMPLATES.iterdir() if p.is_file()}
    assert expected <= inside, expected - inside


# ------------------------------------------------------------------ escaping
def _run(run_id, name, **kw):
    fields = dict(experiment_id="1", status="FINISHED", start_time=int(run_id[-1]),
                  params={}, metrics={}, tags={"task": "classification"})
    fields.update(kw)
    return RunRecord(run_id=run_id, name=name, **fields)


@pytest.fixture(scope="module")
def page():
    model = _run("a" * 31 + "1", NASTY,
                 params={"model.class": "<b>Model</b>", "note": "1 < 2 & 3 > 2"},
                 metrics={"test_auc_roc": 0.81234, "val_auc_roc": float("nan"),
                          "train_brier": 0.2},
                 manifest={"seed": "<0>", "splits": {"test": {"n_patients": 10,
                                                             "ids_sha256": "x"}}},
                 signature=[{"name": "<col>", "type": "double"}],
                 config={"model": {"name": "</pre><script>x</script>"}})
    study = _run("b" * 31 + "2", "study", params={"metric": "auc_roc", "grid": "a&b"},
                 tags={"lightsaber.role": "study", "lightsaber.study": "<s&t>"})
    trials = [_run("c" * 31 + str(k), f"t{k}", params={"C": f"<{k}>"},
                   metrics={"val_auc_roc": 0.5 + k / 10},
                   tags={"lightsaber.role": "trial", "lightsaber.trial": str(k)})
              for k in range(3)]
    refit = _run("d" * 31 + "4", "refit & co", tags={"lightsaber.role": "refit"})
    data = ReportData(uri="sqlite:///tmp/<db>&.db", experiments={"1": "exp <&> 'q'"},
                      selected=[model, study, *trials], models=[model, refit],
                      studies=[StudyRecord(study, [*trials, refit], pngs=[])])
    return template_environment().get_template("report.html.j2").render(
        title="lightsaber report: exp <&> 'q'", sections=build_sections(data))


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_values_are_escaped_once(page):
    parsed = _Text()
    parsed.feed(page)
    text = "".join(parsed.text)
    assert "<script" not in page and "script" not in parsed.tags and "b" not in parsed.tags
    # once: the parsed text is the raw value again (not "&amp;lt;" or a raw "<")
    for raw in (NASTY, "<b>Model</b>", "1 < 2 & 3 > 2", "Study <s&t>", "refit & co",
                "exp <&> 'q'", '"</pre><script>x</script>"', "<col>", "a&b", "<2>"):
        assert raw in text, raw
    assert "&amp;lt;" not in page and "&amp;amp;" not in page and "&amp;ndash;" not in page
    # numbers: 4 significant digits, a missing one as a dash (markup from the filter, unescaped)
    assert "<td class=\"num\">0.8123</td>" in page and "&ndash;" in page
    assert f'href="#run-{"a" * 31}1"' in page and f'href="#run-{"d" * 31}4"' in page
    assert "ids_sha256" not in page


def test_sections_appear_in_order_with_their_ids(page):
    positions = [page.index(f'<section id="{s}">') for s in SECTIONS]
    assert positions == sorted(positions)
    assert page.endswith("</html>\n")


def test_survival_curves_figure_takes_times_and_the_old_time_grid_keyword():
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = make_survival_target(np.ones(60), rng.exponential(np.exp(-x)))
    grid = np.linspace(0.05, 2, 10)
    survival = np.exp(-np.outer(np.exp(x), grid))
    assert survival_curves_figure(y, survival, times=grid, risk=x).axes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert survival_curves_figure(y, survival, time_grid=grid, risk=x).axes
