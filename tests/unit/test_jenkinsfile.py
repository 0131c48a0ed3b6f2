"""The rendered Jenkinsfile: a declarative pipeline whose stages only call the ci/ scripts.

There is no Jenkins here, so the file is parsed (tests/e2e/jenkinsfile.py) and its
structure checked: `pipeline { agent ... stages { stage('Build') ... } }`, the stages in
order, `sh` steps that run ci/*.sh and nothing else (but for installing a tool at a pinned
version), Release only for a tag and the other stages never for one, registry credentials
through `withCredentials`, and the package lists archived.
"""

from __future__ import annotations

import re
from pathlib import Path

import copier
import pytest

from tests.e2e import jenkinsfile
from tests.e2e.jenkinsfile import JenkinsfileError, Node
from tests.e2e.variants import question_choices

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGES = ["Build", "Test", "Scan", "Push", "Release"]
SCRIPTS = {
    "Build": "ci/build.sh",
    "Test": "ci/test.sh",
    "Scan": "ci/scan.sh",
    "Push": "ci/push.sh",
    "Release": "ci/release.sh",
}
ALLOWED_STEPS = {"sh", "archiveArtifacts", "withCredentials"}
"""Steps a stage may use: `sh` for the scripts, the rest are Jenkins bookkeeping."""
CI_SCRIPT = re.compile(r"^(?:\./)?ci/[a-z_-]+\.sh$")
TOOL_INSTALL = re.compile(r"^pipx install (?:--force )?[a-z0-9-]+==[0-9][0-9A-Za-z.+-]*$")
"""The one other command a stage may run: installing a tool at a pinned version."""

pytestmark = [
    pytest.mark.filterwarnings("ignore:Dirty template changes:UserWarning"),
    pytest.mark.skipif(
        "jenkins" not in question_choices("ci_provider", REPO_ROOT / "copier.yml"),
        reason="copier.yml offers no Jenkins",
    ),
]


@pytest.fixture(scope="module", params=["registry.example.com", "localhost:5000"])
def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("jenkins") / "demo"
    copier.run_copy(
        str(REPO_ROOT), str(dst), data={"ci_provider": "jenkins", "registry": request.param},
        defaults=True, unsafe=False, quiet=True,
    )  # fmt: skip
    return dst


@pytest.fixture(scope="module")
def root(repo: Path) -> Node:
    return jenkinsfile.pipeline((repo / "Jenkinsfile").read_text())


def stage(root: Node, name: str) -> Node:
    return dict(jenkinsfile.stages(root))[name]


def conditions(node: Node) -> list[Node]:
    """The conditions of a stage's `when` block."""
    return node.one("when").children


def test_only_the_jenkins_variant_has_a_jenkinsfile(tmp_path: Path) -> None:
    for provider in question_choices("ci_provider", REPO_ROOT / "copier.yml"):
        dst = tmp_path / provider
        copier.run_copy(
            str(REPO_ROOT), str(dst), data={"ci_provider": provider},
            defaults=True, unsafe=False, quiet=True,
        )  # fmt: skip
        assert (dst / "Jenkinsfile").exists() == (provider == "jenkins"), provider


def test_declarative_pipeline_shape(root: Node) -> None:
    names = [child.name for child in root.children]
    assert names.count("agent") == 1, names
    assert names.count("stages") == 1, names
    assert names.index("agent") < names.index("stages")
    assert root.one("agent").args or root.one("agent").body, "agent needs a value"


def test_stages_in_order(root: Node) -> None:
    assert [name for name, _ in jenkinsfile.stages(root)] == STAGES


@pytest.mark.parametrize("name", STAGES)
def test_each_stage_only_runs_its_ci_script(root: Node, repo: Path, name: str) -> None:
    steps = stage(root, name).one("steps")
    used = [node for node in steps.walk() if node is not steps]
    others = {node.name for node in used} - ALLOWED_STEPS
    assert not others, f"stage {name} runs {others}; only ci/*.sh via sh"
    scripts = []
    for node in used:
        if node.name == "sh":
            [command] = node.strings() or [""]
            if len(node.args) == 1 and TOOL_INSTALL.match(command.strip()):
                continue
            assert len(node.args) == 1 and CI_SCRIPT.match(command.strip()), (
                f"stage {name}: sh {[t.text for t in node.args]} is not a ci/*.sh call"
            )
            script = command.strip().removeprefix("./")
            assert (repo / script).is_file(), script
            assert (repo / script).stat().st_mode & 0o111, f"{script} is not executable"
            scripts.append(script)
    assert scripts == [SCRIPTS[name]]


def test_release_runs_only_for_a_tag(root: Node) -> None:
    names = [c.name for c in conditions(stage(root, "Release"))]
    assert "buildingTag" in names, names
    assert "not" not in names and "anyOf" not in names, names


@pytest.mark.parametrize("name", ["Build", "Test", "Scan", "Push"])
def test_other_stages_never_run_for_a_tag(root: Node, name: str) -> None:
    [condition] = conditions(stage(root, name))
    assert condition.name == "not"
    assert [c.name for c in condition.children] == ["buildingTag"]


@pytest.mark.parametrize("name", ["Push", "Release"])
def test_registry_credentials_come_from_with_credentials(root: Node, name: str) -> None:
    steps = stage(root, name).one("steps")
    [wrapper] = steps.find("withCredentials")
    texts = [t.value for t in wrapper.args]
    assert "REGISTRY_USERNAME" in texts and "REGISTRY_PASSWORD" in texts, texts
    assert [n.strings() for n in wrapper.children if n.name == "sh"] == [[SCRIPTS[name]]]


def test_package_lists_are_archived(root: Node) -> None:
    archived = [
        node.strings() for _, s in jenkinsfile.stages(root) for node in s.walk()
        if node.name == "archiveArtifacts"
    ]  # fmt: skip
    patterns = [
        pattern.strip() for strings in archived for s in strings for pattern in s.split(",")
    ]
    assert "build/packages/**" in patterns, archived
    assert "build/sbom.spdx.json" in patterns, archived


def test_structure_tests_are_required(root: Node) -> None:
    assert jenkinsfile.environment(root).get("REQUIRE_STRUCTURE_TEST") == "1"


@pytest.mark.parametrize(
    "text",
    [
        "pipeline { agent any\n stages { stage('Build') { steps { sh 'ci/build.sh' } }\n}",
        "pipeline { agent any }\n}",
        "pipeline { agent any\n stages { stage('Build) { } } }",
        "pipeline { agent any /* never closed }",
        "pipeline { agent any }\npipeline { agent any }",
        "node { sh 'make' }",
    ],
    ids=["unclosed-brace", "extra-brace", "unterminated-string", "comment", "two", "scripted"],
)
def test_the_parser_rejects_what_is_not_a_declarative_pipeline(text: str) -> None:
    with pytest.raises(JenkinsfileError):
        jenkinsfile.pipeline(text)


def test_the_parser_reads_comments_strings_and_nesting() -> None:
    text = """
    // stage('Fake') { }
    pipeline {
        agent { label 'docker && linux' }   /* a { brace } in a comment */
        environment { A = 'x'; B = "${env.X}" ; C = "plain" }
        stages {
            stage("One") {
                when { allOf { not { buildingTag() }; branch 'main' } }
                steps { sh '''ci/build.sh''' }
            }
        }
    }
    """
    root = jenkinsfile.pipeline(text)
    assert [n for n, _ in jenkinsfile.stages(root)] == ["One"]
    assert jenkinsfile.environment(root) == {"A": "x", "C": "plain"}
    assert root.one("agent").one("label").strings() == ["docker && linux"]
    [[sh]] = [[n for n in s.walk() if n.name == "sh"] for _, s in jenkinsfile.stages(root)]
    assert sh.strings() == ["ci/build.sh"]
