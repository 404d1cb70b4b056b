import pytest

from skim.errors import SkimError
from skim.prompts import DIRECTIONS, load_template, render_prompt


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_teacher_prompt_ends_with_the_student_prompt(direction):
    args = (direction, "exon", "a coding part of a gene", ["known one", "known two"])
    teacher = render_prompt(*args, n=7)
    student = render_prompt(*args, n=7, role="student")
    assert teacher.endswith("# Your task\n" + student)
    assert "at most 7" in teacher and "only the information" in teacher
    assert "known one\nknown two\n" in student
    assert student.endswith("\n") and not student.endswith("\n\n")


def test_builtin_prompts_exactly():
    assert render_prompt(
        "labels-to-queries", "example.org/exon", "Exons are...", ["exon"], role="student"
    ) == (
        "## Document\nexample.org/exon\n## Known queries\nexon\n"
        "## Document text\nExons are...\n## Queries\n"
    )
    assert render_prompt("queries-to-labels", "exon", "", role="student") == (
        "## Item\nexon\n## Description\n(no description)\n## Labels\n"
    )


def test_no_limit_and_no_known_change_the_wording():
    prompt = render_prompt("queries-to-labels", "exon", "meta", n=None)
    assert "every label the description supports" in prompt and "Known labels" not in prompt
    prompt = render_prompt("labels-to-queries", "doc", "meta", known=[], n=None)
    assert "as many queries as the text supports" in prompt
    assert "## Known queries" not in prompt.split("# Your task")[1]


def test_user_template(tmp_path):
    path = tmp_path / "mine.j2"
    path.write_text("{{ direction }}|{{ text }}|{{ metadata }}|{{ known | join(',') }}|{{ n }}\n")
    prompt = render_prompt("labels-to-queries", "doc", "meta", ["a", "b"], n=3, template=path)
    assert prompt == "labels-to-queries|doc|meta|a,b|3\n"
    template = load_template("labels-to-queries", path)
    assert template.name == str(path) and len(template.digest) == 64
    assert template.digest != load_template("labels-to-queries").digest


def test_bad_templates_are_named(tmp_path):
    with pytest.raises(SkimError, match="missing.j2: template file not found"):
        load_template("queries-to-labels", tmp_path / "missing.j2")
    broken = tmp_path / "broken.j2"
    broken.write_text("ok\n{% for x in known %}\n{{ x }\n")
    with pytest.raises(SkimError, match=r"broken.j2, line 3: Jinja2 syntax error"):
        load_template("queries-to-labels", broken)
    unknown = tmp_path / "unknown.j2"
    unknown.write_text("{{ title }}")
    with pytest.raises(SkimError, match="unknown.j2, line 1: 'title' is undefined"):
        render_prompt("queries-to-labels", "exon", template=unknown)
    with pytest.raises(SkimError, match="direction must be one of"):
        render_prompt("queries-to-queries", "exon")
    with pytest.raises(SkimError, match="role must be one of"):
        load_template("queries-to-labels", role="critic")


def test_user_templates_are_sandboxed(tmp_path):
    evil = tmp_path / "evil.j2"
    evil.write_text("{{ text.__class__.__mro__ }}")
    with pytest.raises(SkimError, match="evil.j2"):
        render_prompt("queries-to-labels", "exon", template=evil)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ text }}\n{{ range(100000000)|list }}", r"line 2: range\(\) of 100000000 items is "
         r"longer than the 10000 a template may build$"),
        ("{% for i in range(10**9) %}x{% endfor %}", "line 1: range.. of 1000000000 items"),
        ("\n\n{{ 1 / 0 }}", r"line 3: cannot render \(ZeroDivisionError: division by zero\)$"),
        ("{{ text|int + 'a' }}", r"line 1: cannot render \(TypeError: unsupported operand"),
        ("{{ known[5] }}", "line 1: list object has no element 5$"),
    ],
)  # fmt: skip
def test_template_errors_at_render_time_are_one_sentence(tmp_path, source, message):
    path = tmp_path / "t.j2"
    path.write_text(source)
    with pytest.raises(SkimError, match=rf"^template {tmp_path}/t.j2, {message}"):
        render_prompt("queries-to-labels", "exon", template=path)


def test_ranges_up_to_the_bound_still_work(tmp_path):
    path = tmp_path / "count.j2"
    path.write_text(
        "{{ range(10000)|list|length }} {% for i in range(1, n + 1) %}{{ i }}{% endfor %}"
    )
    assert render_prompt("queries-to-labels", "exon", n=3, template=path) == "10000 123\n"
